// bench:intake — what an authenticated request costs the Worker in local workerd (wrangler dev):
// requests/s and p50/p90/p99 latency of
//   POST /v1/deploys          GitHub OIDC verify (RS256, JWKS cache warmed first) + D1 write; every
//                             request has its own pre-minted token and SHA (no replays, no signing in the loop)
//   POST /v1/github/webhook   HMAC over the raw body + D1 write (a deploying workflow_run each)
//   POST /v1/slack/commands   Slack v0 signature + `help` (no D1) and `status` (D1 reads)
//   GET  /healthz             the floor: routing + config, no auth, no D1
// with a bounded load generator on 127.0.0.1 (fixed request count, --concurrency workers). The
// environments point at a parked fake agent: the first deploy stays in flight (probing every
// 250 ms, as a real rollout would while requests arrive) and every later one queues, superseding
// the one before — the intake's steady state.
//
//   npm run bench:intake                         # 1000 requests per endpoint, concurrency 8
//   flags: --requests 1000 --concurrency 8 --port 8887 --agent-port 8890 --issuer-port 8891 --publish
import { writeFileSync } from "node:fs";
import path from "node:path";
import { agentKeyPair } from "../scripts/lib/local-stack";
import { createHmac } from "node:crypto";
import { startFakeAgent } from "./lib/fake-agent";
import { startIssuer } from "./lib/issuer";
import { type LoadResult, type Prepared, runLoad } from "./lib/loadgen";
import { BENCH_REPOSITORY, BENCH_SLACK_SECRET, BENCH_WEBHOOK_SECRET, startBenchWorker } from "./lib/worker";
import { DOCS_DIR, flags, intFlag, machine, randomSha, table, withCleanup, writeOut } from "./lib/util";

const hmacSha256Hex = async (secret: string, body: string) => createHmac("sha256", secret).update(body).digest("hex");
const f = flags();
const REQUESTS = intFlag(f, "requests", 1000, 10, 20_000);
const CONCURRENCY = intFlag(f, "concurrency", 8, 1, 64);
const PORT = intFlag(f, "port", 8887, 1024, 65535);
const AGENT_PORT = intFlag(f, "agent-port", 8890, 1024, 65535);
const ISSUER_PORT = intFlag(f, "issuer-port", 8891, 1024, 65535);
const WARMUP = 30;
const ENV = "bench-intake";
const ENV_WH = "bench-intake-wh";
const WORKFLOW = ".github/workflows/bench.yml";

async function main() {
  const t0 = Date.now();
  const keys = await agentKeyPair();
  const agent = await startFakeAgent({ port: AGENT_PORT, publicJwk: keys.publicJwk });
  const issuer = await startIssuer(ISSUER_PORT);
  let worker: Awaited<ReturnType<typeof startBenchWorker>> | undefined;
  return withCleanup(
    async () => {
      await worker?.stop();
      await agent.close();
      await issuer.close();
    },
    async () => {
      const parked = { convergeMs: null, runningBefore: randomSha() };
      agent.configure(ENV, parked);
      agent.configure(ENV_WH, parked);
      const envCfg = (name: string, extra: Record<string, unknown> = {}) => ({
        agent_url: agent.agentUrl(name),
        deploy_refs: ["refs/heads/main"],
        probes: [{ url: `${agent.url}/healthz` }],
        rollout_timeout_seconds: 86_400,
        ...extra,
      });
      process.stderr.write(`starting wrangler dev on 127.0.0.1:${PORT}…\n`);
      worker = await startBenchWorker({
        name: "intake",
        port: PORT,
        privateJwk: keys.privateJwk,
        environments: { [ENV]: envCfg(ENV), [ENV_WH]: envCfg(ENV_WH, { workflow: WORKFLOW }) },
        vars: { GITHUB_OIDC_ISSUER: issuer.url, GITHUB_OIDC_JWKS_URL: issuer.jwksUrl, GITHUB_OIDC_AUDIENCE: "deploy-coordinator" },
      });
      const base = worker.url;

      process.stderr.write(`pre-minting ${REQUESTS + WARMUP} OIDC tokens…\n`);
      const deploys: Prepared[] = [];
      for (let i = 0; i < REQUESTS + WARMUP; i++) {
        const sha = randomSha();
        const token = await issuer.mint({ sha });
        deploys.push({ url: `${base}/v1/deploys`, init: { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ environment: ENV, sha }) } });
      }
      const webhooks: Prepared[] = [];
      for (let i = 0; i < REQUESTS + WARMUP; i++) {
        const body = JSON.stringify({
          action: "completed",
          workflow_run: { id: 8_000_000_000 + i, run_attempt: 1, path: WORKFLOW, head_branch: "main", head_sha: randomSha(), conclusion: "success", status: "completed", actor: { login: "bench" }, head_repository: { id: Number(BENCH_REPOSITORY.id) } },
          repository: { id: Number(BENCH_REPOSITORY.id), full_name: BENCH_REPOSITORY.name },
        });
        const sig = `sha256=${await hmacSha256Hex(BENCH_WEBHOOK_SECRET, body)}`;
        webhooks.push({ url: `${base}/v1/github/webhook`, init: { method: "POST", headers: { "content-type": "application/json", "x-github-event": "workflow_run", "x-github-delivery": crypto.randomUUID(), "x-hub-signature-256": sig }, body } });
      }
      const slack = async (text: string) => {
        const out: Prepared[] = [];
        const ts = String(Math.floor(Date.now() / 1000));
        for (let i = 0; i < REQUESTS + WARMUP; i++) {
          const body = new URLSearchParams({ command: "/deploy", text, user_id: "UBENCH", user_name: "bench", team_id: "T1", channel_id: "C1", response_url: "", trigger_id: `bench.${i}.${crypto.randomUUID()}` }).toString();
          const sig = `v0=${await hmacSha256Hex(BENCH_SLACK_SECRET, `v0:${ts}:${body}`)}`;
          out.push({ url: `${base}/v1/slack/commands`, init: { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": ts, "x-slack-signature": sig }, body } });
        }
        return out;
      };
      const health: Prepared[] = Array.from({ length: REQUESTS + WARMUP }, () => ({ url: `${base}/healthz`, init: {} }));

      const results: Record<string, LoadResult & { expected: number; ok: number }> = {};
      const measure = async (name: string, reqs: Prepared[], expected: number) => {
        await runLoad(reqs.slice(0, WARMUP), Math.min(4, CONCURRENCY), expected); // warm: JWKS cache, isolate, D1
        const r = await runLoad(reqs.slice(WARMUP), CONCURRENCY, expected);
        results[name] = { ...r, expected, ok: r.statuses[expected] ?? 0 };
        process.stderr.write(`${name}: ${r.rps} req/s, p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms ${JSON.stringify(r.statuses)}${Object.keys(r.samples).length ? ` ${JSON.stringify(r.samples)}` : ""}\n`);
      };
      await measure("GET /healthz", health, 200);
      await measure("POST /v1/deploys (OIDC + D1)", deploys, 202);
      await measure("POST /v1/github/webhook (HMAC + D1)", webhooks, 202);
      await measure("POST /v1/slack/commands help", await slack("help"), 200);
      await measure(`POST /v1/slack/commands status`, await slack(`status ${ENV}`), 200);

      const wallMs = Date.now() - t0;
      const rows = Object.entries(results).map(([name, r]) => [name, r.requests, r.concurrency, r.rps, r.latency_ms.p50, r.latency_ms.p90, r.latency_ms.p99, r.latency_ms.max, `${r.ok}/${r.requests} ${r.expected}`]);
      const text = table(["endpoint", "requests", "conc.", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "expected status"], rows);
      const header = `bench:intake — wrangler dev (local workerd + local D1), ${REQUESTS} requests per endpoint after ${WARMUP} warm-up, concurrency ${CONCURRENCY}`;
      console.log(`\n${header}\n\n${text}\n\nJWKS fetches: ${issuer.fetches()} (warm cache); agent auth refusals: ${agent.refused()}; wall time ${(wallMs / 1000).toFixed(1)} s`);
      const out = { bench: "intake", at: new Date(t0).toISOString(), wall_ms: wallMs, machine: machine(), settings: { requests: REQUESTS, concurrency: CONCURRENCY, warmup: WARMUP }, jwks_fetches: issuer.fetches(), results };
      const json = JSON.stringify(out, null, 2);
      const md = `${header}\n\n${text}\n\nJWKS fetches during the run: ${issuer.fetches()}\n`;
      writeOut("intake.json", json);
      writeOut("intake.md", md);
      if (f.publish !== undefined) {
        writeFileSync(path.join(DOCS_DIR, "intake.json"), json);
        writeFileSync(path.join(DOCS_DIR, "intake.md"), md);
      }
    },
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
