// Cloudflare Access: verifies the `Cf-Access-Jwt-Assertion` JWT that Access puts on requests it let
// through (RS256, signed by the team's keys at <team domain>/cdn-cgi/access/certs, `aud` = the
// Access application's AUD tag, `iss` = the team domain). Pure verifier with an injected clock and
// key set; the remote key set is cached per team domain.
import { type JWTVerifyGetKey, createRemoteJWKSet, errors, jwtVerify } from "jose";

export interface AccessPolicy {
  /** https://<team>.cloudflareaccess.com */
  teamDomain: string;
  /** the Access application's AUD tag */
  aud: string;
}

export type AccessResult = { ok: true; email: string | null; sub: string } | { ok: false; reason: string };

/** Clock skew tolerated on exp/nbf/iat. */
const CLOCK_TOLERANCE_S = 30;

export function accessCertsUrl(teamDomain: string): string {
  return `${normalizeTeamDomain(teamDomain)}/cdn-cgi/access/certs`;
}

function normalizeTeamDomain(d: string): string {
  return d.replace(/\/+$/, "");
}

const jwksCache = new Map<string, JWTVerifyGetKey>();

/**
 * The team's key set, fetched on first use and cached for the isolate's life; a token naming an
 * unknown `kid` refetches at most once every 30 s (jose's cooldown).
 */
export function accessJwks(teamDomain: string): JWTVerifyGetKey {
  const url = accessCertsUrl(teamDomain);
  let jwks = jwksCache.get(url);
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(url), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 });
    jwksCache.set(url, jwks);
  }
  return jwks;
}

export async function verifyAccessJwt(token: string, policy: AccessPolicy, deps: { now: number; jwks: JWTVerifyGetKey }): Promise<AccessResult> {
  if (!token || token.length > 8_192) return { ok: false, reason: "missing or oversized Access token" };
  try {
    const { payload } = await jwtVerify(token, deps.jwks, {
      issuer: normalizeTeamDomain(policy.teamDomain),
      audience: policy.aud,
      algorithms: ["RS256"],
      currentDate: new Date(deps.now),
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ["exp", "iat", "sub"],
    });
    return { ok: true, email: typeof payload.email === "string" ? payload.email : null, sub: String(payload.sub) };
  } catch (e) {
    if (e instanceof errors.JOSEError) return { ok: false, reason: `Access token refused: ${e.code}: ${e.message}` };
    return { ok: false, reason: `Access token refused: ${(e as Error).message}` };
  }
}
