// What one invocation (an alarm, an RPC call) may spend, passed explicitly to everything that makes
// a subrequest. Workers Free allows 50 subrequests per invocation; a probe refused for being over
// that limit would look like a connection failure (a false rollback), so the spending is counted
// here, before each call, and a caller that finds the budget short skips its call.
import type { Operation } from "../../protocol/agent";

/** Subrequests one invocation may spend (Workers Free allows 50; a few are kept in hand). */
export const SUBREQUEST_BUDGET = 45;
/** Agent calls one invocation may make (the slice's poll, plus a rollback request if a rule trips). */
export const AGENT_CALLS_PER_TICK = 2;
/** GitHub requests one invocation may spend on the Deployments outbox. */
export const GITHUB_CALLS_PER_TICK = 3;

export class Invocation {
  private spent = 0;
  private agentCallsMade = 0;
  /** operations the agent returned in this invocation (from a POST), by id: no need to poll them again */
  readonly operations = new Map<string, Operation>();

  constructor(readonly limit: number = SUBREQUEST_BUDGET) {}

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

  /** Takes `count` subrequests if they are left; false (nothing taken) when not. */
  take(count = 1): boolean {
    if (count > this.left) return false;
    this.spent += count;
    return true;
  }

  /** One agent call: one subrequest and one of the invocation's agent calls. */
  takeAgentCall(): boolean {
    if (this.agentCallsLeft < 1) return false;
    this.agentCallsMade++;
    this.spent++;
    return true;
  }
}
