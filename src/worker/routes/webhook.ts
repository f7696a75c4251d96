// POST /v1/github/webhook: a successful run of an environment's `workflow` on one of its deploy
// branches queues a deploy of the run's head SHA. The signature is checked over the raw bytes
// before anything is parsed; anything that is not a deploy is answered 200 {ignored} and stored
// nowhere. When several environments name the same workflow and branch, each gets its own deploy
// (each is queued in its own coordinator; a lock on one refuses only that one).
import { z } from "zod";
import { coordinator, newApp } from "../app";
import { verifyWebhookSignature } from "../auth/github-webhook";
import type { EnvironmentConfig } from "../config";
import { ApiError, unauthorized } from "../errors";
import type { SubmitResult } from "../rollout/coordinator";
import { SHA } from "./http";

const WorkflowRunEventSchema = z.object({
  action: z.string(),
  workflow_run: z.object({
    id: z.number().int(),
    run_attempt: z.number().int().default(1),
    path: z.string(),
    head_branch: z.string().nullable(),
    head_sha: z.string(),
    event: z.string().optional(),
    status: z.string().nullable().optional(),
    conclusion: z.string().nullable(),
    actor: z.object({ login: z.string() }).nullable().optional(),
    head_repository: z.object({ id: z.number().int() }).nullable(),
  }),
  repository: z.object({ id: z.number().int(), full_name: z.string().optional() }),
  sender: z.object({ login: z.string() }).optional(),
});

export const webhook = newApp().post("/", async (c) => {
  const raw = new Uint8Array(await c.req.arrayBuffer());
  const config = c.get("config");
  if (!config.GITHUB_WEBHOOK_SECRET) {
    console.error(JSON.stringify({ msg: "GITHUB_WEBHOOK_SECRET is not set: every webhook delivery is refused" }));
    throw unauthorized("webhook secret not configured");
  }
  const signature = c.req.header("x-hub-signature-256");
  if (!(await verifyWebhookSignature(raw, signature, config.GITHUB_WEBHOOK_SECRET))) {
    throw unauthorized(signature ? "webhook signature mismatch" : "no X-Hub-Signature-256 header");
  }

  const event = c.req.header("x-github-event") ?? "";
  const delivery = c.req.header("x-github-delivery") ?? "";
  const ignore = (why: string) => {
    console.log(JSON.stringify({ msg: "webhook ignored", event, delivery, why }));
    return c.json({ ignored: why }, 200);
  };
  if (event === "ping") return c.json({ ok: true, event: "ping" }, 200);
  if (event !== "workflow_run") return ignore(`event ${event || "(none)"} does not deploy`);

  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder().decode(raw));
  } catch {
    throw new ApiError("invalid_json", "request body is not valid JSON");
  }
  const parsed = WorkflowRunEventSchema.safeParse(payload);
  if (!parsed.success) return ignore(`unexpected workflow_run payload (${parsed.error.issues[0].path.join(".")})`);
  const { action, workflow_run: run, repository, sender } = parsed.data;

  if (action !== "completed") return ignore(`workflow_run ${action}, not completed`);
  if (run.conclusion !== "success") return ignore(`workflow_run concluded ${run.conclusion ?? "without a conclusion"}, not success`);
  const repoId = config.GITHUB_REPOSITORY_ID;
  if (String(repository.id) !== repoId) return ignore(`repository ${repository.id} is not the configured repository`);
  // a run on a fork's branch (e.g. a pull request) carries the fork as head_repository
  if (!run.head_repository || String(run.head_repository.id) !== repoId) return ignore("head_repository is not the configured repository");
  if (!SHA.test(run.head_sha)) return ignore("head_sha is not a full commit SHA");

  const byWorkflow = Object.values(config.ENVIRONMENTS).filter((e) => e.workflow === run.path);
  if (byWorkflow.length === 0) return ignore(`no environment deploys on workflow ${run.path}`);
  const ref = run.head_branch ? `refs/heads/${run.head_branch}` : null;
  const targets: EnvironmentConfig[] = byWorkflow.filter((e) => ref !== null && e.deploy_refs.includes(ref));
  if (targets.length === 0) return ignore(`branch ${run.head_branch ?? "(none)"} is not a deploy ref of ${byWorkflow.map((e) => e.name).join(", ")}`);

  const actor = run.actor?.login ?? sender?.login ?? "github";
  const runAttempt = String(run.run_attempt);
  const results: { environment: string; result: SubmitResult }[] = [];
  for (const env of targets) {
    const result = await coordinator(c.env, env.name).submit({
      environment: env.name,
      sha: run.head_sha,
      trigger: { source: "webhook", actor },
      // the same key CI's OIDC requests use: a run that both calls the API and fires this webhook deploys once
      idempotency_key: `${env.name}:${run.head_sha}:${run.id}:${runAttempt}`,
      run_id: String(run.id),
      run_attempt: runAttempt,
      ref: ref ?? undefined,
      // one delivery may queue several environments; each remembers it separately
      ...(delivery ? { delivery: { source: "github" as const, id: targets.length === 1 ? delivery : `${delivery}:${env.name}` } } : {}),
    });
    results.push({ environment: env.name, result });
  }
  console.log(JSON.stringify({ msg: "webhook deploy", delivery, sha: run.head_sha, run_id: run.id, results: results.map((r) => `${r.environment}:${r.result.kind}`) }));

  const deploys = results.flatMap((r) => (r.result.kind === "created" || r.result.kind === "existing" ? [r.result.deploy] : []));
  const locked = results.flatMap((r) => (r.result.kind === "locked" ? [{ environment: r.environment, lock: r.result.lock }] : []));
  if (deploys.length === 0) {
    if (locked.length) throw new ApiError("environment_locked", `environment is locked: ${locked.map((l) => `${l.environment} (${l.lock?.reason ?? "no reason"})`).join(", ")}`);
    // "replay": a delivery seen before that queued nothing
    return ignore("delivery already handled");
  }
  const created = results.some((r) => r.result.kind === "created");
  return c.json({ deploy: deploys[0], deploys, ...(locked.length ? { locked } : {}) }, created ? 202 : 200);
});
