// Environments of the adversarial and fault tests (test/worker/adversarial, test/worker/faults).
// "adv-*": the doors under attack; their agent is a closed port, so even a request that slipped
// through could deploy nothing (and the tests count rows, which would show it).
// "fault-*": one environment per fault, each with its own scenario on the fake agent and the
// probe target (test/servers/{agent,probe}.server.ts), short windows so a rollout takes seconds.
import { scriptedEnvironment } from "../scripted-environment";
import type { ServerInfo } from "../servers/types";

export const FAULT_ENVIRONMENTS = [
  "fault-unreachable",
  "fault-slow",
  "fault-garbage",
  "fault-garbage-poll",
  "fault-restart",
  "fault-restart-rollback",
  "fault-d1",
  "fault-d1-trip",
  "fault-flapping",
  "fault-flapping-tolerant",
] as const;

export function environments(servers: Record<string, ServerInfo>) {
  const closed = "http://127.0.0.1:9";
  const out: Record<string, unknown> = {
    "adv-intake": { agent_url: closed, deploy_refs: ["refs/heads/main"], probes: [{ url: `${closed}/health` }], workflow: ".github/workflows/adv.yml" },
  };
  const slow = servers.faultyagent?.url ?? closed;
  for (const name of FAULT_ENVIRONMENTS) {
    out[name] = scriptedEnvironment(servers, name, { max_failed_probes: name === "fault-flapping-tolerant" ? 2 : 0 });
  }
  // nothing listens on port 9
  (out["fault-unreachable"] as { agent_url: string }).agent_url = `${closed}/s/fault-unreachable`;
  // the faulty agent (test/servers/faultyagent.server.ts): answers after the Worker's agent
  // timeout, or answers status polls with an HTML page
  (out["fault-slow"] as { agent_url: string }).agent_url = `${slow}/slow/fault-slow`;
  (out["fault-garbage-poll"] as { agent_url: string }).agent_url = `${slow}/garbage-poll/fault-garbage-poll`;
  return out;
}
