// The issuer's JWKS, cached per isolate. jose's createRemoteJWKSet has the same rules
// (cooldownDuration 30 s, cacheMaxAge 10 min) but reads Date.now() itself; this small cache takes
// the clock as an argument so the "refetch at most once every 30 s" rule is testable in one line.
import { type JWK, type JWSHeaderParameters, type FlattenedJWSInput, createLocalJWKSet, errors } from "jose";

/** A token naming an unknown `kid` refetches the JWKS at most this often (DESIGN). */
export const JWKS_REFETCH_COOLDOWN_MS = 30_000;
/** A cached JWKS older than this is refreshed on the next request (keys are retired over days). */
export const JWKS_MAX_AGE_MS = 10 * 60_000;
/** One JWKS fetch may take this long before the token is refused. */
export const JWKS_FETCH_TIMEOUT_MS = 5_000;

/** What jwtVerify accepts as its key: resolves the header's `kid` to a public key. */
export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

type LocalSet = ReturnType<typeof createLocalJWKSet>;

export class JwksCache {
  private set: { resolve: LocalSet; fetchedAt: number } | undefined;
  private lastFetchAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  /** fetches made (successful or not): for tests and logs */
  fetches = 0;

  constructor(
    readonly url: string,
    private readonly opts: { fetch?: typeof fetch; cooldownMs?: number; maxAgeMs?: number; timeoutMs?: number } = {},
  ) {}

  /** A resolver for jwtVerify that sees the clock `now` (ms). */
  resolver(now: number): KeyResolver {
    return (header, token) => this.getKey(header, token, now);
  }

  async getKey(header: JWSHeaderParameters, token: FlattenedJWSInput, now: number): Promise<CryptoKey> {
    const maxAge = this.opts.maxAgeMs ?? JWKS_MAX_AGE_MS;
    if (!this.set) await this.refresh(now);
    else if (now - this.set.fetchedAt >= maxAge) {
      // stale: refresh, but keep verifying with the old keys if the issuer is briefly unreachable
      await this.refresh(now).catch((e) => console.warn(JSON.stringify({ msg: "jwks refresh failed, using cached keys", url: this.url, error: String(e) })));
    }
    try {
      return await this.resolveWith(header, token);
    } catch (e) {
      if (!(e instanceof errors.JWKSNoMatchingKey)) throw e;
      if (this.inflight) {
        // someone is already refetching (e.g. after a key rotation): wait for it, don't fetch again
        await this.inflight.catch(() => undefined);
      } else if (now - this.lastFetchAt >= (this.opts.cooldownMs ?? JWKS_REFETCH_COOLDOWN_MS)) {
        await this.refresh(now);
      } else {
        throw e;
      }
      return this.resolveWith(header, token);
    }
  }

  private async resolveWith(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> {
    if (!this.set) throw new errors.JWKSNoMatchingKey();
    return (await this.set.resolve(header, token)) as CryptoKey;
  }

  /** One fetch at a time; callers arriving meanwhile share it. */
  private refresh(now: number): Promise<void> {
    this.inflight ??= this.load(now).finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async load(now: number): Promise<void> {
    this.lastFetchAt = now;
    this.fetches++;
    const doFetch = this.opts.fetch ?? fetch;
    const res = await doFetch(this.url, {
      headers: { accept: "application/json" },
      redirect: "manual",
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? JWKS_FETCH_TIMEOUT_MS),
    });
    if (res.status !== 200) throw new errors.JOSEError(`JWKS fetch from ${this.url} answered ${res.status}`);
    const body = (await res.json()) as { keys?: JWK[] };
    if (!body || !Array.isArray(body.keys)) throw new errors.JWKSInvalid(`JWKS from ${this.url} has no keys array`);
    this.set = { resolve: createLocalJWKSet({ keys: body.keys }), fetchedAt: now };
  }
}

const caches = new Map<string, JwksCache>();

/** The isolate's cache for one JWKS URL. */
export function jwksFor(url: string): JwksCache {
  let c = caches.get(url);
  if (!c) caches.set(url, (c = new JwksCache(url)));
  return c;
}
