// The deploy request to the agent (the release, or the rollback target) and its retry policy: ask,
// then decide from the answer with a pure function what it means. The caller applies the event.
//   Rollout: 202 → verifying; a refusal or garbage → failed (nothing changed); unreachable →
//   retried on the next slices for AGENT_START_GRACE_MS (a lost answer is safe to retry: same
//   deploy_id and sha return the same operation), then failed. 409 (busy finishing an earlier
//   operation) is transient: retried with backoff until the rollout timeout, then failed (it
//   never took the request). Once a request may have reached the agent without an answer coming
//   back, no later answer may say "nothing was changed": it is retried until an answer or the
//   rollout timeout, whose rule rolls back.
//   Rollback: 409 (the failed operation still runs) and unreachable are retried every slice until
//   the rollback's own timeout.
import type { Operation } from "../../protocol/agent";
import { type AgentResult, describeAgentFailure, requestDeployment } from "../integrations/agent";
import { type DeployRow, getDeploy, reasonDataOf, rollbackAcceptedStmt } from "../store/deploys";
import { markStmt } from "../store/marks";
import { rollbackFailedReason } from "./assess";
import type { Invocation } from "./budget";
import type { ApplyOptions, RolloutHost } from "./host";
import { AGENT_START_GRACE_MS, busyBackoffMs } from "./policy";
import type { DeployEvent } from "./state";

export const rollbackDeployId = (deployId: string) => `${deployId}.rollback`;
const unansweredKey = (deployId: string) => `agent-unanswered:${deployId}`;
const busyKey = (deployId: string) => `agent-busy:${deployId}`;

/** A busy agent's backoff: how many 409s so far, and not to ask again before `next_at`. */
interface Busy {
  attempts: number;
  next_at: number;
}

/** What an answer to the rollout's deploy request means. */
export type RolloutAnswer =
  | { kind: "accepted"; operation: Operation }
  | { kind: "retry"; why: string }
  | { kind: "event"; event: DeployEvent };

export interface AnswerContext {
  /** an earlier request may have reached the agent without an answer coming back */
  unanswered: boolean;
  /** when the agent was first asked */
  since: number;
  now: number;
  rollout_timeout_seconds: number;
}

export function decideRolloutAnswer(result: AgentResult, { unanswered, since, now, rollout_timeout_seconds }: AnswerContext): RolloutAnswer {
  if (result.kind === "ok") return { kind: "accepted", operation: result.op };
  const why = describeAgentFailure(result);
  // the agent may be running the release: only an answer or the timeout rule may end this deploy
  if (unanswered) return { kind: "retry", why: "agent gave no answer to a deploy request it may have acted on; retrying the same request" };
  if (result.kind === "refused" && result.status === 409) {
    if (now - since < rollout_timeout_seconds * 1000) return { kind: "retry", why: "agent busy with an earlier operation, retrying with backoff" };
    return {
      kind: "event",
      event: { type: "not_deployed", reason: `agent busy (409) with an earlier operation until rollout_timeout_seconds ${rollout_timeout_seconds} passed; nothing was changed`, reason_data: { rule: "agent_refused", phase: "deploying", status: 409, timeout_seconds: rollout_timeout_seconds } },
    };
  }
  // 401 right after an agent restart is expected (tokens minted before it started are refused)
  const transient = result.kind === "unreachable" || (result.kind === "refused" && result.status === 401);
  if (transient && now - since < AGENT_START_GRACE_MS) return { kind: "retry", why: "agent deploy request failed, retrying" };
  const rule = result.kind === "unreachable" ? "agent_unreachable" : "agent_refused";
  const status = result.kind === "unreachable" ? null : result.status;
  return { kind: "event", event: { type: "not_deployed", reason: `${why}; nothing was changed`, reason_data: { rule, phase: "deploying", status } } };
}

/** Where the rollout's deploy request stands (for the timeout rule while deploying). */
export async function requestState(host: RolloutHost, deployId: string): Promise<"busy" | "unanswered" | null> {
  const [unanswered, busy] = await Promise.all([host.storage.get(unansweredKey(deployId)), host.storage.get(busyKey(deployId))]);
  return unanswered === true ? "unanswered" : busy ? "busy" : null;
}

export interface AgentDecision {
  deploy: DeployRow;
  event: DeployEvent;
  options?: ApplyOptions;
}

/** Sends the deploy request when the deploy still needs it and the invocation can afford it; returns the event its answer decides. */
export async function askAgent(host: RolloutHost, invocation: Invocation, deployId: string, purpose: "rollout" | "rollback"): Promise<AgentDecision | null> {
  const config = host.config();
  const deploy = await getDeploy(host.db, deployId);
  const cfg = deploy && config.ENVIRONMENTS[deploy.environment];
  if (!deploy || !cfg) return null;
  const target = { agentUrl: cfg.agent_url, privateJwk: config.AGENT_SIGNING_KEY as JsonWebKey };

  if (purpose === "rollout") {
    if (deploy.status !== "deploying") return null;
    const since = deploy.agent_requested_at ?? deploy.status_changed_at;
    const busy = await host.storage.get<Busy>(busyKey(deploy.id));
    // backing off a busy agent, but never past the rollout timeout, where the last ask decides
    if (busy && Date.now() < Math.min(busy.next_at, since + cfg.rollout_timeout_seconds * 1000)) return null;
    if (!invocation.takeAgentCall()) return null; // next slice
    const result = await requestDeployment(target, deploy.id, deploy.sha, Date.now());
    if (result.kind === "unreachable" && result.ambiguous) await host.storage.put(unansweredKey(deploy.id), true);
    const unanswered = (await host.storage.get(unansweredKey(deploy.id))) === true;
    const answer = decideRolloutAnswer(result, { unanswered, since, now: Date.now(), rollout_timeout_seconds: cfg.rollout_timeout_seconds });
    if (answer.kind === "retry") {
      if (result.kind === "refused" && result.status === 409) {
        const attempts = (busy?.attempts ?? 0) + 1;
        await host.storage.put(busyKey(deploy.id), { attempts, next_at: Date.now() + busyBackoffMs(attempts) } satisfies Busy);
      }
      console.warn(JSON.stringify({ msg: answer.why, deploy_id: deploy.id, error: result.kind === "ok" ? null : describeAgentFailure(result) }));
      return null;
    }
    await host.storage.delete(busyKey(deploy.id));
    if (answer.kind === "event") return { deploy, event: answer.event };
    const op = answer.operation;
    invocation.operations.set(op.id, op);
    await host.storage.delete([unansweredKey(deploy.id), busyKey(deploy.id)]);
    return {
      deploy,
      event: { type: "agent_accepted", operation_id: op.id },
      options: {
        fields: { agent_operation_id: op.id, agent_accepted_at: Date.now(), previous_sha: deploy.previous_sha ?? op.running_sha_before },
        data: { operation_id: op.id, running_sha_before: op.running_sha_before },
      },
    };
  }

  if (deploy.status !== "rolling_back" || deploy.rollback_operation_id || !deploy.rollback_sha) return null;
  if (!invocation.takeAgentCall()) return null;
  const result = await requestDeployment(target, rollbackDeployId(deploy.id), deploy.rollback_sha, Date.now(), { supersede: true });
  if (result.kind === "ok") {
    invocation.operations.set(result.op.id, result.op);
    const now = Date.now();
    await host.db.batch([
      rollbackAcceptedStmt(host.db, deploy.id, result.op.id, now),
      markStmt(host.db, { deploy_id: deploy.id, at: now, status: deploy.status, mark: "rollback_accepted", reason: `agent accepted the rollback to ${deploy.rollback_sha}`, actor: "deploy-coordinator", data: { operation_id: result.op.id } }),
    ]);
    return null;
  }
  if (result.kind === "unreachable" || (result.kind === "refused" && (result.status === 409 || result.status === 401))) {
    console.warn(JSON.stringify({ msg: "rollback request not accepted yet, retrying", deploy_id: deploy.id, error: describeAgentFailure(result) }));
    return null;
  }
  const rule = result.kind === "refused" ? "agent_refused" : "agent_failed";
  const cause = reasonDataOf(deploy);
  return {
    deploy,
    event: {
      type: "rollback_tripped",
      reason: rollbackFailedReason(deploy.reason, `${describeAgentFailure(result)} (rollback to ${deploy.rollback_sha})`),
      reason_data: { rule, phase: "rolling_back", status: result.status, ...(cause ? { cause } : {}) },
    },
  };
}
