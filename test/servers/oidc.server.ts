// A local GitHub-Actions-like OIDC issuer on 127.0.0.1. Serves a JWKS with two RSA keys ("k1",
// "k2") at /.well-known/jwks; a third key ("rogue") is never published. The private JWKs go to the
// tests (info.keys) so they mint tokens with jose inside workerd.
// Tests that count fetches use their own JWKS path, /t/<tag>/.well-known/jwks, publishing the kids
// they choose (POST /t/<tag>/__publish {kids}); GET /__stats?path=… counts the fetches of a path.
//
// It also plays a "parked" agent under /parked (agent_url `${url}/parked`, probe `${url}/parked/health`):
// it accepts every deploy and reports it running forever, without checking tokens. The intake
// tests point their environments at it so the rollout engine holds the first deploy in flight and
// every later one stays queued — the queue stays what the intake tests wrote, whatever the engine does.
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { StartedServer } from "./types";

type Jwk = Record<string, unknown>;

function rsaKeyPair(kid: string): { privateJwk: Jwk; publicJwk: Jwk } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privateJwk: { ...(privateKey.export({ format: "jwk" }) as Jwk), kid, alg: "RS256", use: "sig" },
    publicJwk: { ...(publicKey.export({ format: "jwk" }) as Jwk), kid, alg: "RS256", use: "sig" },
  };
}

export async function start(): Promise<StartedServer> {
  const keys = { k1: rsaKeyPair("k1"), k2: rsaKeyPair("k2"), rogue: rsaKeyPair("rogue") };
  const published = new Map<string, (keyof typeof keys)[]>(); // tag → kids
  const fetches = new Map<string, number>(); // path → count
  const parked = new Map<string, Record<string, unknown>>(); // operation id → operation

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const ch of req) chunks.push(ch as Buffer);
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const jwks = (kids: (keyof typeof keys)[]) => ({ keys: kids.map((k) => keys[k].publicJwk) });
    const count = () => fetches.set(url.pathname, (fetches.get(url.pathname) ?? 0) + 1);

    if (req.method === "GET" && url.pathname === "/.well-known/jwks") {
      count();
      return send(200, jwks(["k1", "k2"]));
    }
    let m;
    if (req.method === "GET" && (m = url.pathname.match(/^\/t\/([\w-]+)\/\.well-known\/jwks$/))) {
      count();
      return send(200, jwks(published.get(m[1]) ?? ["k1"]));
    }
    if (req.method === "POST" && (m = url.pathname.match(/^\/t\/([\w-]+)\/__publish$/))) {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { kids: (keyof typeof keys)[] };
      published.set(m[1], body.kids);
      return send(200, { ok: true });
    }
    if (req.method === "GET" && url.pathname === "/__stats") {
      const path = url.searchParams.get("path") ?? "/.well-known/jwks";
      return send(200, { path, fetches: fetches.get(path) ?? 0 });
    }
    if (req.method === "POST" && url.pathname === "/parked/v1/deployments") {
      const { deploy_id, sha } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { deploy_id: string; sha: string };
      const id = `op-${deploy_id}`;
      const op = parked.get(id) ?? {
        id, deploy_id, sha, state: "running", services: [], error: null, log_tail: ["parked: never converges"],
        started_at: new Date().toISOString(), finished_at: null, running_sha_before: null, stage: "deploy",
      };
      parked.set(id, op);
      return send(202, op);
    }
    if (req.method === "GET" && (m = url.pathname.match(/^\/parked\/v1\/deployments\/([^/]+)$/))) {
      const op = parked.get(decodeURIComponent(m[1]));
      return op ? send(200, op) : send(404, { error: { code: "not_found", message: "unknown operation" } });
    }
    if (req.method === "GET" && url.pathname === "/parked/health") return send(200, { ok: true });
    if (req.method === "GET" && url.pathname === "/.well-known/openid-configuration") {
      return send(200, { issuer: base, jwks_uri: `${base}/.well-known/jwks` });
    }
    return send(404, { message: "Not Found" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    info: {
      url: base,
      keys: Object.fromEntries(Object.entries(keys).map(([kid, k]) => [kid, { private: k.privateJwk, public: k.publicJwk }])),
      bindings: {
        GITHUB_OIDC_ISSUER: base,
        GITHUB_OIDC_JWKS_URL: `${base}/.well-known/jwks`,
        GITHUB_OIDC_AUDIENCE: "deploy-coordinator",
      },
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
