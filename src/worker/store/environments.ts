// D1 access for environment state: the last verified release and the lock.
import { z } from "zod";

export const EnvironmentRowSchema = z.object({
  name: z.string(),
  verified_sha: z.string().nullable(),
  verified_at: z.number().nullable(),
  verified_deploy_id: z.string().nullable(),
  locked: z.number().transform((n) => n === 1),
  lock_reason: z.string().nullable(),
  lock_actor: z.string().nullable(),
  locked_at: z.number().nullable(),
  updated_at: z.number(),
});
export type EnvironmentRow = z.infer<typeof EnvironmentRowSchema>;

export async function getEnvironment(db: D1Database, name: string): Promise<EnvironmentRow> {
  const row = await db.prepare("SELECT * FROM environments WHERE name = ?").bind(name).first();
  if (row) return EnvironmentRowSchema.parse(row);
  return { name, verified_sha: null, verified_at: null, verified_deploy_id: null, locked: false, lock_reason: null, lock_actor: null, locked_at: null, updated_at: 0 };
}

export function ensureEnvironmentStmt(db: D1Database, name: string, now: number): D1PreparedStatement {
  return db.prepare("INSERT INTO environments (name, updated_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING").bind(name, now);
}

/** Locking a locked environment replaces the reason (DESIGN: Locks). */
export function lockStmts(db: D1Database, name: string, reason: string, actor: string, now: number): D1PreparedStatement[] {
  return [
    ensureEnvironmentStmt(db, name, now),
    db.prepare("UPDATE environments SET locked = 1, lock_reason = ?, lock_actor = ?, locked_at = ?, updated_at = ? WHERE name = ?").bind(reason, actor, now, now, name),
  ];
}

export function unlockStmts(db: D1Database, name: string, now: number): D1PreparedStatement[] {
  return [
    ensureEnvironmentStmt(db, name, now),
    db.prepare("UPDATE environments SET locked = 0, lock_reason = NULL, lock_actor = NULL, locked_at = NULL, updated_at = ? WHERE name = ?").bind(now, name),
  ];
}

export function setVerifiedStmts(db: D1Database, name: string, sha: string, deployId: string, now: number): D1PreparedStatement[] {
  return [
    ensureEnvironmentStmt(db, name, now),
    db.prepare("UPDATE environments SET verified_sha = ?, verified_at = ?, verified_deploy_id = ?, updated_at = ? WHERE name = ?").bind(sha, now, deployId, now, name),
  ];
}

/**
 * The D1-only writes a transition carries (DESIGN: persist before acting), written in the
 * transition's own batch and only if its guarded UPDATE took effect: the EXISTS clause checks
 * that the deploy now has the new status with this very status_changed_at.
 */
const TOOK_EFFECT = "EXISTS (SELECT 1 FROM deploys WHERE id = ? AND status = ? AND status_changed_at = ?)";
export type TransitionGuard = { deployId: string; status: string; at: number };

export function setVerifiedIfStmts(db: D1Database, name: string, sha: string, guard: TransitionGuard): D1PreparedStatement[] {
  const now = guard.at;
  return [
    ensureEnvironmentStmt(db, name, now),
    db
      .prepare(`UPDATE environments SET verified_sha = ?, verified_at = ?, verified_deploy_id = ?, updated_at = ? WHERE name = ? AND ${TOOK_EFFECT}`)
      .bind(sha, now, guard.deployId, now, name, guard.deployId, guard.status, now),
  ];
}

export function lockIfStmts(db: D1Database, name: string, reason: string, actor: string, guard: TransitionGuard): D1PreparedStatement[] {
  const now = guard.at;
  return [
    ensureEnvironmentStmt(db, name, now),
    db
      .prepare(`UPDATE environments SET locked = 1, lock_reason = ?, lock_actor = ?, locked_at = ?, updated_at = ? WHERE name = ? AND ${TOOK_EFFECT}`)
      .bind(reason.slice(0, 500), actor, now, now, name, guard.deployId, guard.status, now),
  ];
}

export function lockJson(e: EnvironmentRow) {
  return e.locked ? { reason: e.lock_reason, actor: e.lock_actor, locked_at: e.locked_at === null ? null : new Date(e.locked_at).toISOString() } : null;
}
