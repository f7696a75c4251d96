// D1 access for page sessions signed out before they expired (the session itself is a signed,
// expiring value: auth/session.ts). Retention prunes rows past their expiry.

export async function isRevoked(db: D1Database, sid: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 FROM revoked_sessions WHERE sid = ?").bind(sid).first()) !== null;
}

/** Logout: the session stays refused until it would have expired (then retention prunes the row). */
export async function revokeSession(db: D1Database, sid: string, expiresAt: number): Promise<void> {
  await db.prepare("INSERT INTO revoked_sessions (sid, expires_at) VALUES (?, ?) ON CONFLICT (sid) DO NOTHING").bind(sid, expiresAt).run();
}
