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

export function markDeliverySeenStmt(db: D1Database, source: "github" | "slack", id: string, deployId: string, now: number): D1PreparedStatement {
  return db.prepare("INSERT INTO seen_deliveries (source, delivery_id, deploy_id, seen_at) VALUES (?, ?, ?, ?)").bind(source, id, deployId, now);
}
