// What one invocation (an alarm, an RPC call) may spend, passed explicitly to everything that makes
// a subrequest. Workers Free allows 50 subrequests per invocation; a probe refused for being over
// that limit would look like a connection failure (a false rollback), so the spending is counted
// here, before each call, and a caller that finds the budget short skips its call.
import type { Operation } from "../../protocol/agent";

/** Subrequests one invocation may spend (Workers Free allows 50; a few are kept in hand). */
export const SUBREQUEST_BUDGET = 45;
/** Agent calls one invocation may make (the slice's poll, plus a rollback request if a rule trips). */
export const AGENT_CALLS_PER_TICK = 2;
/** GitHub requests one invocation may spend on the Deployments outbox (the App token fetch included). */
export const GITHUB_CALLS_PER_TICK = 3;
/** Slack posts kept in hand for a verdict's notification (a response_url follow-up, and the channel webhook). */
export const SLACK_POSTS_PER_TICK = 2;

/**
 * What a subrequest was for: the one counter keeps them apart so a test and the log can tell
 * (issue 14). "region": the call that starts a probe site's rounds for the slice (one per region;
 * the site's own probes are spent in the site's invocation, not here).
 */
export type SpendKind = "probe" | "agent" | "github" | "slack" | "region";

/** One invocation's spending, as the coordinator keeps it for the last invocations. */
export interface Spending {
  at: number;
  total: number;
  by: Record<SpendKind, number>;
}

/** What a caller outside the engine needs of the budget: take before each subrequest, skip the call when refused. */
export interface SubrequestBudget {
  readonly left: number;
  take(count?: number, kind?: SpendKind): boolean;
}

export class Invocation implements SubrequestBudget {
  private spent = 0;
  private agentCallsMade = 0;
  private readonly by: Record<SpendKind, number> = { probe: 0, agent: 0, github: 0, slack: 0, region: 0 };
  readonly startedAt = Date.now();
  /** operations the agent returned in this invocation (from a POST), by id: no need to poll them again */
  readonly operations = new Map<string, Operation>();

  constructor(readonly limit: number = SUBREQUEST_BUDGET) {}

  /** Subrequests the probe rounds must leave for the agent, GitHub and Slack. */
  get reserved(): number {
    return this.agentCallsLeft + GITHUB_CALLS_PER_TICK + SLACK_POSTS_PER_TICK;
  }

  /** subrequests still allowed */
  get left(): number {
    return this.limit - this.spent;
  }

  get agentCalls(): number {
    return this.agentCallsMade;
  }

  /** agent calls still allowed (bounded by both the agent allowance and the subrequests left) */
  get agentCallsLeft(): number {
    return Math.max(0, Math.min(AGENT_CALLS_PER_TICK - this.agentCallsMade, this.left));
  }

  /** Takes `count` subrequests for `kind` if they are left; false (nothing taken) when not. */
  take(count = 1, kind: SpendKind = "probe"): boolean {
    if (count > this.left) return false;
    this.spent += count;
    this.by[kind] += count;
    return true;
  }

  /** One agent call: one subrequest and one of the invocation's agent calls. */
  takeAgentCall(): boolean {
    if (this.agentCallsLeft < 1) return false;
    this.agentCallsMade++;
    this.spent++;
    this.by.agent++;
    return true;
  }

  /** What was spent so far, by kind. */
  spending(): Spending {
    return { at: this.startedAt, total: this.spent, by: { ...this.by } };
  }
}
