// Replay guards: OIDC token ids and GitHub/Slack delivery ids already used, consumed in the same
// D1 batch as the deploy they created.

export async function tokenSeen(db: D1Database, jti: string): Promise<boolean> {
  return !!(await db.prepare("SELECT 1 FROM seen_tokens WHERE jti = ?").bind(jti).first());
}

/** undefined: never seen; otherwise the deploy it created (null: none, e.g. a Slack trigger that was refused). */
export async function deliverySeen(db: D1Database, source: "github" | "slack", id: string): Promise<{ deploy_id: string | null } | undefined> {
  const row = await db.prepare("SELECT deploy_id FROM seen_deliveries WHERE source = ? AND delivery_id = ?").bind(source, id).first<{ deploy_id: string | null }>();
  return row ?? undefined;
}

export function markTokenSeenStmt(db: D1Database, jti: string, expiresAt: number): D1PreparedStatement {
  return db.prepare("INSERT INTO seen_tokens (jti, expires_at) VALUES (?, ?)").bind(jti, expiresAt);
}

/**
 * Records a Slack trigger_id; false when it was seen within `ttlMs`. Older rows are pruned in the
 * same batch, so a row's age is what decides.
 */
export async function firstSlackSighting(db: D1Database, triggerId: string, now: number, ttlMs: number): Promise<boolean> {
  const [, insert] = await db.batch([
    db.prepare("DELETE FROM seen_deliveries WHERE source = 'slack' AND seen_at < ?").bind(now - ttlMs),
    db.prepare("INSERT INTO seen_deliveries (source, delivery_id, deploy_id, seen_at) VALUES ('slack', ?, NULL, ?) ON CONFLICT (source, delivery_id) DO NOTHING").bind(triggerId, now),
  ]);
  return insert.meta.changes > 0;
}

/** The deploy a Slack trigger_id created. */
export async function linkSlackTrigger(db: D1Database, triggerId: string, deployId: string): Promise<void> {
  await db.prepare("UPDATE seen_deliveries SET deploy_id = ? WHERE source = 'slack' AND delivery_id = ?").bind(deployId, triggerId).run();
}

export function markDeliverySeenStmt(db: D1Database, source: "github" | "slack", id: string, deployId: string, now: number): D1PreparedStatement {
  return db.prepare("INSERT INTO seen_deliveries (source, delivery_id, deploy_id, seen_at) VALUES (?, ?, ?, ?)").bind(source, id, deployId, now);
}
