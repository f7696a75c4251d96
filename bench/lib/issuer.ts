// A local GitHub-Actions-like OIDC issuer for the benchmarks, on 127.0.0.1: one RSA key (kid
// "bench-1") published at /.well-known/jwks, and a minter for tokens shaped like GitHub's. The
// benchmarks pre-mint their tokens, so signing never shows in a latency figure. Counts JWKS fetches
// (a warm cache fetches once).
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import { SignJWT, importJWK } from "jose";
import { BENCH_REPOSITORY } from "./worker";

export const BENCH_AUDIENCE = "deploy-coordinator";

export interface Issuer {
  url: string;
  jwksUrl: string;
  fetches(): number;
  mint(o: { sha: string; ref?: string; runId?: string; jti?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startIssuer(port: number): Promise<Issuer> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = "bench-1";
  const publicJwk = { ...(publicKey.export({ format: "jwk" }) as Record<string, unknown>), kid, alg: "RS256", use: "sig" };
  const key = await importJWK({ ...(privateKey.export({ format: "jwk" }) as Record<string, unknown>), alg: "RS256" } as never, "RS256");
  let fetches = 0;
  const url = `http://127.0.0.1:${port}`;
  const server = http.createServer((req, res) => {
    if (req.url === "/.well-known/jwks") {
      fetches++;
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ keys: [publicJwk] }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  let run = 4_000_000_000;
  return {
    url,
    jwksUrl: `${url}/.well-known/jwks`,
    fetches: () => fetches,
    async mint(o) {
      const now = Math.floor(Date.now() / 1000);
      const ref = o.ref ?? "refs/heads/main";
      const claims = {
        jti: o.jti ?? crypto.randomUUID(),
        sub: `repo:${BENCH_REPOSITORY.name}:ref:${ref}`,
        aud: BENCH_AUDIENCE,
        ref,
        sha: o.sha,
        repository: BENCH_REPOSITORY.name,
        repository_owner: BENCH_REPOSITORY.name.split("/")[0],
        repository_owner_id: BENCH_REPOSITORY.owner_id,
        repository_id: BENCH_REPOSITORY.id,
        run_id: o.runId ?? String(run++),
        run_number: "1",
        run_attempt: "1",
        actor: "bench",
        actor_id: "1",
        event_name: "push",
        ref_type: "branch",
        workflow: "release",
        iss: url,
        iat: now,
        nbf: now - 5,
        exp: now + 600,
      };
      return new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "JWT", kid }).sign(key);
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
