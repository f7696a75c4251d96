// AGENT_ENV_FILE: parsed without a shell, refused when others can read it, and its values never
// leave the agent — checked with a marker value against everything the agent process printed and
// answered, while the fake docker proves the value did reach `docker stack deploy` (and only it).
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { envFileModeProblem, readEnvFile, redactor } from "../../../src/agent/env-file";
import { signAgentToken } from "../../../src/protocol/agent-token";
import { agentKeyPair } from "../../../scripts/keys";
import { fakeDocker } from "./helpers";

const ROOT = path.join(import.meta.dirname, "../../..");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const MAIN = path.join(ROOT, "src/agent/main.ts");
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "agent-env-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function envFile(text: string, mode = 0o600): string {
  const f = path.join(dir, "secrets.env");
  writeFileSync(f, text);
  chmodSync(f, mode);
  return f;
}

describe("reading AGENT_ENV_FILE", () => {
  test("KEY=VALUE lines with comments and quotes, and nothing a shell would do", () => {
    const f = envFile(`# database\nDB_PASSWORD=s3cret\nQUOTED="two words"\nCMD=$(touch ${dir}/pwned)\nREF=\${HOME}\nexport EXPORTED=yes\n`);
    const r = readEnvFile(f);
    expect(r).toEqual({ ok: true, values: { DB_PASSWORD: "s3cret", QUOTED: "two words", CMD: `$(touch ${dir}/pwned)`, REF: "${HOME}", EXPORTED: "yes" } });
    expect(spawnSync("ls", [dir]).stdout.toString()).not.toContain("pwned");
  });

  test("an unquoted value containing # is refused (it would be cut there), naming the line and key but not the value", () => {
    const r = readEnvFile(envFile("A=1\nDB_PASSWORD=ab#cd-marker\n"));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain("line 2 (DB_PASSWORD)");
      expect(r.message).toContain("wrap the value in quotes");
      expect(r.message).not.toContain("marker");
    }
    expect(readEnvFile(envFile('DB_PASSWORD="ab#cd"\nB=plain # a comment\n'))).toEqual({ ok: true, values: { DB_PASSWORD: "ab#cd", B: "plain" } });
  });

  test.each([0o640, 0o604, 0o660, 0o644])("a file with mode %o is refused, naming the file and the fix", (mode) => {
    const f = envFile("A=1\n", mode);
    const why = envFileModeProblem(f);
    expect(why).toContain(f);
    expect(why).toContain(`chmod 600 ${f}`);
    expect(readEnvFile(f)).toMatchObject({ ok: false, message: why });
  });

  test("mode 600 and 400 are accepted", () => {
    expect(envFileModeProblem(envFile("A=1\n", 0o600))).toBeNull();
    expect(envFileModeProblem(envFile("A=1\n", 0o400))).toBeNull();
  });

  test("the redactor hides every value of four characters or more, longest first", () => {
    const hide = redactor({ TOKEN: "abcdef", PREFIX: "abcd", SHORT: "1" });
    expect(hide("x abcdef y abcd z 1")).toBe("x [redacted TOKEN] y [redacted PREFIX] z 1");
  });
});

describe("the agent process with AGENT_ENV_FILE", () => {
  test("refuses to start when the file is readable by others, with the file and chmod 600 in the message", () => {
    const f = envFile("A=1\n", 0o644);
    const compose = path.join(dir, "compose.yml");
    writeFileSync(compose, "services:\n  app:\n    image: x/app:${GIT_COMMIT}\n");
    const r = spawnSync(TSX, [MAIN], {
      encoding: "utf8",
      timeout: 30_000,
      env: { PATH: process.env.PATH, AGENT_COORDINATOR_PUBLIC_KEY: JSON.stringify({ kty: "OKP", crv: "Ed25519", x: "EeeQc19eLfZhXLCdetzCiQJP78AlJYrxY4O_ua4laFY" }), AGENT_AUDIENCE: "http://127.0.0.1:1", AGENT_STACK: "lab", AGENT_COMPOSE_FILE: compose, AGENT_ENV_FILE: f, AGENT_LISTEN: "127.0.0.1:1" },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(f);
    expect(r.stderr).toContain(`chmod 600 ${f}`);
  });

  test("no value of the env file appears in anything the agent printed or answered, though docker stack deploy got it", { timeout: 90_000 }, async () => {
    const MARKER = `marker-${crypto.randomUUID()}`;
    const f = envFile(`AGENT_TEST_SECRET=${MARKER}\n`);
    fakeDocker(dir);
    const compose = path.join(dir, "compose.yml");
    writeFileSync(compose, "services:\n  app:\n    image: x/app:${GIT_COMMIT}\n    environment:\n      SECRET: ${AGENT_TEST_SECRET}\n");
    const keys = await agentKeyPair();
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const url = `http://127.0.0.1:${port}`;
    let printed = "";
    const child = spawn(TSX, [MAIN], {
      env: { PATH: process.env.PATH, AGENT_COORDINATOR_PUBLIC_KEY: JSON.stringify(keys.public), AGENT_AUDIENCE: url, AGENT_STACK: "lab", AGENT_COMPOSE_FILE: compose, AGENT_ENV_FILE: f, AGENT_LISTEN: `127.0.0.1:${port}`, AGENT_DOCKER: path.join(dir, "docker"), AGENT_RESOLVE_IMAGE: "never", AGENT_DEPLOY_TIMEOUT_S: "20" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (d) => (printed += String(d)));
    child.stderr.on("data", (d) => (printed += String(d)));
    const answered: string[] = [];
    const call = async (method: "GET" | "POST", p: string, body = "") => {
      const token = await signAgentToken({ privateJwk: keys.private as JsonWebKey, audience: url, method, path: p, body, now: Date.now() });
      const res = await fetch(`${url}${p}`, { method, body: method === "POST" ? body : undefined, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });
      const text = await res.text();
      answered.push(`${res.status} ${JSON.stringify(Object.fromEntries(res.headers))} ${text}`);
      return JSON.parse(text) as { id: string; state: string; error: string | null };
    };
    const settle = async (id: string) => {
      for (let i = 0; i < 200; i++) {
        const op = await call("GET", `/v1/deployments/${id}`);
        if (op.state !== "running") return op;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`operation ${id} did not settle`);
    };
    try {
      for (let i = 0; i < 150 && !(await fetch(`${url}/healthz`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 200));
      await new Promise((r) => setTimeout(r, 1100)); // tokens issued before the agent started are refused
      // 1. docker stack deploy echoes the interpolated secret in its error (as compose errors can)
      writeFileSync(path.join(dir, "deploy-echoes-secret"), "");
      const failed = await settle((await call("POST", "/v1/deployments", JSON.stringify({ deploy_id: "d1", sha: "a".repeat(40) }))).id);
      expect(failed.state).toBe("failed");
      expect(failed.error).toContain("[redacted AGENT_TEST_SECRET]");
      // 2. a deploy that converges
      rmSync(path.join(dir, "deploy-echoes-secret"));
      const ok = await settle((await call("POST", "/v1/deployments", JSON.stringify({ deploy_id: "d2", sha: "b".repeat(40) }))).id);
      expect(ok.state).toBe("converged");
      await call("GET", "/v1/stack");
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    // the value went to docker stack deploy, and only there
    const envLog = readFileSync(path.join(dir, "env.log"), "utf8").trim().split("\n");
    expect(envLog.filter((l) => l.startsWith("stack deploy")).every((l) => l.endsWith(`AGENT_TEST_SECRET=${MARKER}`))).toBe(true);
    expect(envLog.filter((l) => !l.startsWith("stack deploy")).every((l) => l.endsWith("AGENT_TEST_SECRET="))).toBe(true);
    expect(envLog.some((l) => l.startsWith("stack deploy"))).toBe(true);
    // … and nowhere in what the agent printed or answered
    expect(printed.length).toBeGreaterThan(0);
    expect(answered.length).toBeGreaterThan(5);
    expect(printed).not.toContain(MARKER);
    for (const a of answered) expect(a).not.toContain(MARKER);
  });
});
