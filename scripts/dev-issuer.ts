// A local stand-in for GitHub's Actions OIDC issuer, for people running the coordinator locally
// (the README's curl example, `npm start`). Dev only: never part of the Worker bundle; production
// points GITHUB_OIDC_ISSUER at https://token.actions.githubusercontent.com.
//
//   tsx scripts/dev-issuer.ts serve [--port 8791]         JWKS at http://127.0.0.1:8791/.well-known/jwks
//   tsx scripts/dev-issuer.ts mint --sha <40 hex> [--ref refs/heads/main] [--aud deploy-coordinator]
//        [--repository demo/app] [--repository-id 100001] [--repository-owner-id 200002]
//        [--run-id N] [--run-attempt 1] [--event push] [--actor you] [--issuer URL] [--port 8791]
//
// The RSA key pair lives in .demo/dev-issuer-key.json (created on first use), so tokens minted by
// `mint` verify against a `serve` started earlier or later.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type JWK, SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from "jose";

export const DEFAULT_PORT = 8791;
export const DEFAULT_KEY_FILE = path.join(import.meta.dirname, "..", ".demo", "dev-issuer-key.json");
/** The repository a dev token claims by default; set the Worker's GITHUB_REPOSITORY* vars to match. */
export const DEV_REPOSITORY = { name: "demo/app", id: "100001", owner_id: "200002" } as const;
export const DEV_AUDIENCE = "deploy-coordinator";

interface KeyFile {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** The issuer's key pair, read from keyFile or created there (0600) on first use. */
export async function loadOrCreateKey(keyFile = DEFAULT_KEY_FILE): Promise<KeyFile> {
  try {
    const k = JSON.parse(readFileSync(keyFile, "utf8")) as KeyFile;
    if (k.kid && k.privateJwk?.d && k.publicJwk?.n) return k;
  } catch {
    // not there yet (or unreadable): make one
  }
  const { privateKey, publicKey } = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = (await calculateJwkThumbprint(publicJwk)).slice(0, 16);
  const k: KeyFile = {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: "RS256", use: "sig" },
    publicJwk: { ...publicJwk, kid, alg: "RS256", use: "sig" },
  };
  mkdirSync(path.dirname(keyFile), { recursive: true });
  writeFileSync(keyFile, `${JSON.stringify(k, null, 2)}\n`, { mode: 0o600 });
  return k;
}

export interface DevMintOptions {
  sha: string;
  ref?: string;
  audience?: string;
  /** the `iss` claim: must equal the Worker's GITHUB_OIDC_ISSUER (default http://127.0.0.1:<port>) */
  issuer?: string;
  port?: number;
  repository?: string;
  repository_id?: string;
  repository_owner_id?: string;
  run_id?: string;
  run_attempt?: string;
  event_name?: string;
  actor?: string;
  /** lifetime in seconds (GitHub's tokens live about 5 minutes; default 10 minutes here) */
  ttl_seconds?: number;
  keyFile?: string;
}

/** A token shaped like GitHub's Actions OIDC tokens, signed by the dev issuer's key. */
export async function mintDevToken(o: DevMintOptions): Promise<string> {
  const key = await loadOrCreateKey(o.keyFile);
  const now = Math.floor(Date.now() / 1000);
  const repository = o.repository ?? DEV_REPOSITORY.name;
  const ref = o.ref ?? "refs/heads/main";
  const claims = {
    jti: crypto.randomUUID(),
    sub: `repo:${repository}:ref:${ref}`,
    aud: o.audience ?? DEV_AUDIENCE,
    ref,
    sha: o.sha,
    repository,
    repository_owner: repository.split("/")[0],
    repository_owner_id: o.repository_owner_id ?? DEV_REPOSITORY.owner_id,
    repository_id: o.repository_id ?? DEV_REPOSITORY.id,
    run_id: o.run_id ?? String(now),
    run_number: "1",
    run_attempt: o.run_attempt ?? "1",
    actor: o.actor ?? process.env.USER ?? "developer",
    actor_id: "1",
    workflow: "dev-issuer",
    workflow_ref: `${repository}/.github/workflows/release.yml@${ref}`,
    job_workflow_ref: `${repository}/.github/workflows/release.yml@${ref}`,
    event_name: o.event_name ?? "push",
    ref_type: ref.startsWith("refs/tags/") ? "tag" : "branch",
    iss: o.issuer ?? `http://127.0.0.1:${o.port ?? DEFAULT_PORT}`,
    iat: now,
    nbf: now - 5,
    exp: now + (o.ttl_seconds ?? 600),
  };
  const privateKey = await importJWK(key.privateJwk, "RS256");
  return new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.kid }).sign(privateKey);
}

export interface DevIssuer {
  url: string;
  /** mints with this issuer's URL as `iss` */
  mint(o: Omit<DevMintOptions, "issuer" | "port" | "keyFile">): Promise<string>;
  stop(): Promise<void>;
}

/** Serves the JWKS (and an OpenID configuration) on 127.0.0.1:port. */
export async function startDevIssuer(opts: { port?: number; keyFile?: string } = {}): Promise<DevIssuer> {
  const key = await loadOrCreateKey(opts.keyFile);
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "max-age=60" });
      res.end(JSON.stringify(body));
    };
    const p = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    if (req.method === "GET" && p === "/.well-known/jwks") return send(200, { keys: [key.publicJwk] });
    if (req.method === "GET" && p === "/.well-known/openid-configuration") {
      return send(200, { issuer: url, jwks_uri: `${url}/.well-known/jwks`, id_token_signing_alg_values_supported: ["RS256"] });
    }
    return send(404, { message: "Not Found" });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? DEFAULT_PORT, "127.0.0.1", () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    mint: (o) => mintDevToken({ ...o, issuer: url, keyFile: opts.keyFile }),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function flags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const m = argv[i].match(/^--([a-z-]+)(?:=(.*))?$/);
    if (!m) throw new Error(`unexpected argument ${argv[i]}`);
    if (m[2] !== undefined) out[m[1]] = m[2];
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) out[m[1]] = argv[++i];
    else throw new Error(`--${m[1]} needs a value`);
  }
  return out;
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const f = flags(rest);
  const port = f.port ? Number(f.port) : DEFAULT_PORT;
  const keyFile = f.key ? path.resolve(f.key) : DEFAULT_KEY_FILE;
  if (command === "serve") {
    const issuer = await startDevIssuer({ port, keyFile });
    console.log(`dev issuer: ${issuer.url}  (JWKS ${issuer.url}/.well-known/jwks, key ${path.relative(process.cwd(), keyFile)})`);
    console.log(`run the Worker with --var GITHUB_OIDC_ISSUER:${issuer.url} --var GITHUB_OIDC_JWKS_URL:${issuer.url}/.well-known/jwks`);
    const stop = () => void issuer.stop().then(() => process.exit(0));
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    return;
  }
  if (command === "mint") {
    if (!f.sha || !/^[0-9a-f]{40}$/.test(f.sha)) throw new Error("mint needs --sha <40 lowercase hex>");
    const token = await mintDevToken({
      sha: f.sha,
      ref: f.ref,
      audience: f.aud,
      issuer: f.issuer,
      port,
      repository: f.repository,
      repository_id: f["repository-id"],
      repository_owner_id: f["repository-owner-id"],
      run_id: f["run-id"],
      run_attempt: f["run-attempt"],
      event_name: f.event,
      actor: f.actor,
      keyFile,
    });
    process.stdout.write(`${token}\n`);
    return;
  }
  console.error("usage: tsx scripts/dev-issuer.ts serve [--port 8791] | mint --sha <sha> [--ref refs/heads/main] [--aud deploy-coordinator] [--repository-id 100001] …");
  process.exit(2);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(String((e as Error).message ?? e));
    process.exit(1);
  });
}
