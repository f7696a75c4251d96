// The scripts of the fake agent and the probe target (types only: shared by the Node servers
// and the Worker tests, so nothing here may import Node).
import type { LintFinding } from "../../src/protocol/agent";

export interface OpScript {
  outcome: "converged" | "failed";
  /** how long the operation runs */
  after_ms: number;
  error?: string;
  stage?: "preflight" | "deploy";
  /** leave out `stage` (an agent that does not send it) */
  omit_stage?: boolean;
  /** how long its pre-flight takes before the stack deploy is submitted (default 0); a rollback cannot supersede it before */
  preflight_ms?: number;
  /** the pre-flight lint's findings the operation reports (issue 10) */
  lint?: LintFinding[];
}

export interface AgentScenario {
  /** what the stack runs before the first operation (null: not a 40-hex tag) */
  running_sha_before: string | null;
  /** POST /s/<id>/__event target on the probe server, e.g. http://127.0.0.1:Q/__event/<id> */
  probe_events_url?: string;
  /** a forced answer to POST /v1/deployments (a refusal), or "garbage" */
  post?: { status: number; body: unknown } | "garbage";
  /** per SHA (or "*"): how its operation goes */
  ops: Record<string, OpScript>;
  /** forget every operation (an agent restart) this long after the first one started */
  forget_after_ms?: number;
}

export interface ProbeWindow {
  /** the event the window is timed from ("now": the moment the scenario was scripted) */
  after: "now" | "started" | "converged";
  /** only for operations of this SHA (default: the first operation the event happens for) */
  sha?: string;
  at_ms: number;
  duration_ms: number;
  /** answer this status (e.g. 502) */
  status?: number;
  /** answer after this long (slow) */
  delay_ms?: number;
  /** only for the probes of this probe region's site (its x-deploy-coordinator-region header), issue 14 */
  region?: string;
  /** the window ends early once this event happened (e.g. the rollback's operation converged: the broken release is gone) */
  until?: { event: "started" | "converged"; sha: string };
}

export interface ProbeScenario {
  /** the version served before any operation converged */
  version: string | null;
  /** serve this instead of the converged operation's SHA (a Swarm that kept the old image) */
  serve_after_converge?: string;
  /** only these SHAs change what is served when they converge (default: every SHA) */
  converge_changes?: string[];
  windows?: ProbeWindow[];
  /** answer each probe region's site with a cf-ray header naming this data centre (issue 14) */
  colos?: Record<string, string>;
}
