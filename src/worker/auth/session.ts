// The pages' login session: a signed, expiring cookie value "<sid>.<exp>.<mac>" instead of the raw
// API_TOKEN, so the token never sits in a browser, a session ends when it expires, and logging out
// revokes it (the sid is kept in revoked_sessions until it would have expired anyway). The MAC key
// is derived from API_TOKEN: rotating the token ends every session. Pure parts take `now`.
import { constantTimeEqual, hmacSha256Hex } from "./crypto";

/** How long a login lasts. */
export const SESSION_TTL_MS = 12 * 3_600_000;
const SID = /^[0-9a-f]{32}$/;
const EXP = /^[0-9]{1,15}$/;
const MAC = /^[0-9a-f]{64}$/;

export type SessionResult = { ok: true; sid: string; expiresAt: number } | { ok: false; reason: "malformed" | "bad_signature" | "expired" | "revoked" };

/** The session MAC key: not the token itself, and different from anything else derived from it. */
const sessionKey = (apiToken: string) => hmacSha256Hex(apiToken, "deploy-coordinator/session/v1");

const macOf = async (apiToken: string, sid: string, exp: number) => hmacSha256Hex(await sessionKey(apiToken), `${sid}.${exp}`);

/** A new session value, valid until now + ttl. */
export async function issueSession(apiToken: string, now: number, ttlMs = SESSION_TTL_MS): Promise<{ value: string; sid: string; expiresAt: number }> {
  const sid = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  const expiresAt = now + ttlMs;
  return { value: `${sid}.${expiresAt}.${await macOf(apiToken, sid, expiresAt)}`, sid, expiresAt };
}

/** Signature and expiry of a session value (revocation is the caller's D1 look-up: isRevoked). */
export async function verifySession(value: string, apiToken: string, now: number): Promise<SessionResult> {
  const [sid, exp, mac, ...rest] = value.split(".");
  if (rest.length || !SID.test(sid ?? "") || !EXP.test(exp ?? "") || !MAC.test(mac ?? "")) return { ok: false, reason: "malformed" };
  if (!constantTimeEqual(mac, await macOf(apiToken, sid, Number(exp)))) return { ok: false, reason: "bad_signature" };
  if (Number(exp) <= now) return { ok: false, reason: "expired" };
  return { ok: true, sid, expiresAt: Number(exp) };
}
