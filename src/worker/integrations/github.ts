// GitHub Deployments for each deploy: one Deployment per deploy row, statuses queued → in_progress →
// success | failure | error (inactive for replaced ones). GitHub is a mirror of the verdict, never
// part of it: status changes go to an outbox in the coordinator's storage, are sent in order on
// the next ticks, retried a bounded number of times, and dropped with a log line when GitHub stays down.
import type { Config } from "../config";
import { type DeployRow, getDeploy, setGithubDeploymentId } from "../store/deploys";
import type { SubrequestBudget as Budget } from "../rollout/budget";
import { githubClient } from "./github-client";
import { bakingDescription } from "../rollout/bake";

export type GithubState = "queued" | "in_progress" | "success" | "failure" | "error" | "inactive";

export interface OutboxItem {
  deploy_id: string;
  state: GithubState;
  attempts: number;
  /** not before (ms) */
  next_at: number;
}

const OUTBOX_KEY = "github:outbox";
/** Attempts per status before it is dropped (backoff 2 s, 4 s, 8 s, 16 s: about half a minute of GitHub trouble). */
export const GITHUB_MAX_ATTEMPTS = 5;
const GITHUB_TIMEOUT_MS = 5_000;
const OUTBOX_MAX = 200;

/** Queues a status for a deploy; sent by flushGithub. */
export async function enqueueGithub(storage: DurableObjectStorage, deployId: string, state: GithubState, now: number): Promise<void> {
  const box = (await storage.get<OutboxItem[]>(OUTBOX_KEY)) ?? [];
  if (box.some((i) => i.deploy_id === deployId && i.state === state)) return;
  box.push({ deploy_id: deployId, state, attempts: 0, next_at: now });
  // bounded: an outbox that only grows means GitHub has been down for long; the oldest go first
  await storage.put(OUTBOX_KEY, box.slice(-OUTBOX_MAX));
}

export async function hasGithubItem(storage: DurableObjectStorage, deployId: string): Promise<boolean> {
  const box = (await storage.get<OutboxItem[]>(OUTBOX_KEY)) ?? [];
  return box.some((i) => i.deploy_id === deployId);
}

/** The GitHub requests one status costs: create the Deployment (and its `queued`) first if it has none. */
export function callsFor(d: Pick<DeployRow, "github_deployment_id">, state: GithubState): number {
  if (d.github_deployment_id !== null) return 1;
  if (state === "inactive") return 0;
  return state === "queued" ? 2 : 3;
}

/**
 * Sends due outbox items in order, at most `maxCalls` GitHub requests (the App token fetch
 * included), each taken from the invocation's `budget` before it is made: an item whose calls do
 * not fit waits for the next tick. Returns when the next item is due (ms), or null when the outbox
 * is empty. Never throws.
 */
export async function flushGithub(config: Config, db: D1Database, storage: DurableObjectStorage, budget: Budget, maxCalls: number, now = Date.now()): Promise<number | null> {
  let box = (await storage.get<OutboxItem[]>(OUTBOX_KEY)) ?? [];
  if (!box.length) return null;
  let calls = 0;
  const counted: Budget = {
    get left() {
      return Math.min(maxCalls - calls, budget.left);
    },
    take(count = 1) {
      if (calls + count > maxCalls || !budget.take(count, "github")) return false;
      calls += count;
      return true;
    },
  };
  let octokit;
  try {
    octokit = await githubClient(config, now, counted);
  } catch (e) {
    console.warn(JSON.stringify({ msg: "github: no client", error: String(e) }));
    octokit = undefined;
  }
  if (octokit === null) {
    await storage.delete(OUTBOX_KEY); // GitHub not configured: nothing will ever be sent
    return null;
  }
  const [owner, repo] = config.GITHUB_REPOSITORY.split("/");
  const blocked = new Set<string>(); // deploys whose earlier status is still pending: keep their order
  const keep: OutboxItem[] = [];
  for (const item of box) {
    if (blocked.has(item.deploy_id) || item.next_at > now || !octokit) {
      blocked.add(item.deploy_id);
      keep.push(item);
      continue;
    }
    const d = await getDeploy(db, item.deploy_id);
    if (!d) continue;
    // all of the item's calls are taken up front: an item never goes past the tick's cap
    if (!counted.take(callsFor(d, item.state))) {
      blocked.add(item.deploy_id);
      keep.push(item);
      continue;
    }
    try {
      await send(octokit, config, db, owner, repo, d, item.state);
    } catch (e) {
      item.attempts += 1;
      const status = (e as { status?: number }).status;
      const log = { msg: "github: deployment status not sent", deploy_id: d.id, state: item.state, attempts: item.attempts, status, error: (e as Error).message };
      if (item.attempts >= GITHUB_MAX_ATTEMPTS) {
        console.error(JSON.stringify({ ...log, msg: "github: deployment status dropped after retries" }));
        continue;
      }
      console.warn(JSON.stringify(log));
      item.next_at = now + 1000 * 2 ** item.attempts;
      blocked.add(item.deploy_id);
      keep.push(item);
    }
  }
  box = keep;
  if (box.length) await storage.put(OUTBOX_KEY, box);
  else await storage.delete(OUTBOX_KEY);
  return box.length ? Math.max(now, Math.min(...box.map((i) => i.next_at))) : null;
}

type Octo = NonNullable<Awaited<ReturnType<typeof githubClient>>>;

/** Sends one status (creating the Deployment first if this deploy has none): callsFor() requests. */
async function send(octokit: Octo, config: Config, db: D1Database, owner: string, repo: string, d: DeployRow, state: GithubState): Promise<void> {
  const request = () => ({ signal: AbortSignal.timeout(GITHUB_TIMEOUT_MS) });
  let id = d.github_deployment_id;
  if (id === null) {
    // a replaced deploy that never reached GitHub has nothing to deactivate
    if (state === "inactive") return;
    const env = config.ENVIRONMENTS[d.environment];
    const created = await octokit.rest.repos.createDeployment({
      owner,
      repo,
      ref: d.sha,
      environment: env?.github_environment ?? d.environment,
      auto_merge: false,
      required_contexts: [],
      description: `deploy ${d.id} (${d.trigger_source})`,
      request: request(),
    });
    id = (created.data as { id?: number }).id ?? null;
    if (id === null) throw new Error("GitHub created no deployment (202: merge in progress?)");
    await setGithubDeploymentId(db, d.id, id);
    if (state !== "queued") await postStatus("queued");
  }
  await postStatus(state);

  async function postStatus(s: GithubState) {
    const env = config.ENVIRONMENTS[d.environment];
    await octokit.rest.repos.createDeploymentStatus({
      owner,
      repo,
      deployment_id: id!,
      state: s,
      log_url: `${config.PUBLIC_URL.replace(/\/$/, "")}/deploys/${d.id}`,
      ...(env ? { environment_url: env.probes[0].url } : {}),
      // while baking: "baking, N min left" (issue 13)
      description: (d.status === "baking" && d.bake_ends_at ? bakingDescription(d.bake_ends_at, Date.now()) : (d.reason ?? d.status)).slice(0, 140),
      request: request(),
    });
  }
}
