// The coordinator's HTTP API as the CLI calls it: base URL and API token from flags or
// DEPLOY_COORDINATOR_URL / DEPLOY_COORDINATOR_TOKEN (never printed), and every error answer
// turned into a sentence that says what to do next.
import { CliError, EXIT } from "./errors";
import { TransientError } from "../../deploy/action/follow-loop.mjs";

export interface Connection {
  url: string;
  token?: string;
  /** who is asking, sent as X-Actor (recorded as api:<name>) */
  actor?: string;
}

export const ENV_URL = "DEPLOY_COORDINATOR_URL";
export const ENV_TOKEN = "DEPLOY_COORDINATOR_TOKEN";
/** One request never waits longer than this (a ?wait= read adds its wait). */
const REQUEST_TIMEOUT_MS = 30_000;

export function connection(flags: { url?: string; token?: string; actor?: string }, env: NodeJS.ProcessEnv = process.env): Connection {
  const url = (flags.url ?? env[ENV_URL] ?? "").trim();
  if (!url) throw new CliError(`no coordinator URL: set ${ENV_URL} (e.g. https://deploy.example.org) or pass --url`, EXIT.usage);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`${ENV_URL} is not a URL: check it (e.g. https://deploy.example.org)`, EXIT.usage);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new CliError(`${ENV_URL} must be an http(s) URL`, EXIT.usage);
  const token = (flags.token ?? env[ENV_TOKEN] ?? "").trim() || undefined;
  return { url: url.replace(/\/+$/, ""), token, actor: flags.actor };
}

interface ErrorBody {
  error?: { code?: string; message?: string };
}

/** A GET that fails on the way (network, 5xx) is tried this many times in all; a POST only once (it is not idempotent). */
const GET_ATTEMPTS = 3;
const GET_RETRY_MS = 1_000;

export class Coordinator {
  constructor(readonly conn: Connection) {}

  /** A request that needs the API token: refused locally (exit 2) when none is configured. */
  async call<T>(method: string, path: string, o: { body?: unknown; auth?: boolean; timeoutMs?: number; attempts?: number } = {}): Promise<T> {
    const attempts = o.attempts ?? (method === "GET" ? GET_ATTEMPTS : 1);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(method, path, o);
      } catch (e) {
        if (!(e instanceof TransientError) || attempt >= attempts) throw e;
        await new Promise((r) => setTimeout(r, GET_RETRY_MS * attempt));
      }
    }
  }

  private async once<T>(method: string, path: string, o: { body?: unknown; auth?: boolean; timeoutMs?: number }): Promise<T> {
    const auth = o.auth ?? true;
    if (auth && !this.conn.token) throw new CliError(`no API token: set ${ENV_TOKEN} (the Worker's API_TOKEN) or pass --token`, EXIT.usage);
    const headers: Record<string, string> = { accept: "application/json" };
    if (auth && this.conn.token) headers.authorization = `Bearer ${this.conn.token}`;
    if (this.conn.actor) headers["x-actor"] = this.conn.actor;
    if (o.body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(`${this.conn.url}${path}`, {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        redirect: "manual",
        signal: AbortSignal.timeout(o.timeoutMs ?? REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      const cause = (e as Error & { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e as Error).message;
      throw new TransientError(`could not reach the coordinator at ${this.conn.url} (${why}): check ${ENV_URL} and that it is running`);
    }
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: described below */
    }
    if (res.ok) {
      if (body === null) throw new CliError(`${method} ${path} answered ${res.status} with a body that is not JSON: is ${ENV_URL} the coordinator?`, EXIT.refused);
      return body as T;
    }
    throw explain(res.status, body as ErrorBody | null, text, `${method} ${path}`);
  }
}

/** The coordinator's error answer as a sentence that says what to do. */
export function explain(status: number, body: ErrorBody | null, text: string, what: string): Error {
  const code = body?.error?.code;
  const message = body?.error?.message ?? (text.slice(0, 200) || "no body");
  if (status === 401) return new CliError(`the token was refused: check ${ENV_TOKEN} (it must be the Worker's API_TOKEN)`, EXIT.refused, code);
  if (status === 429 || status >= 500) {
    if (code === "invalid_config") return new CliError(`the coordinator's configuration is invalid: ${message} (fix the Worker's variables, then try again)`, EXIT.refused, code);
    return new TransientError(`${what} answered ${status} (${code ?? "no code"}: ${message})`);
  }
  const hint: Record<string, string> = {
    unknown_environment: "see `deploy-coordinator status` for the environments",
    not_found: "see `deploy-coordinator deploys` for recent ids",
    environment_locked: "unlock it with `deploy-coordinator unlock <env>`, or restore a release with `rollback`, which passes a lock",
    invalid_sha: "give the full SHA: `git rev-parse <commit>`",
  };
  const tail = code && hint[code] ? `; ${hint[code]}` : "";
  return new CliError(`${message}${tail}`, EXIT.refused, code ?? String(status));
}
