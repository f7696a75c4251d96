// Environments of the probe-region tests (test/worker/regions, issue 14): the scripted agent and
// probe target of the rollout tests, with probe sites in two regions. Locally every site runs in
// the same workerd on this machine and probes the same target; the target tells them apart by the
// x-deploy-coordinator-region header each site sends.
import { scriptedEnvironment } from "../scripted-environment";
import type { ServerInfo } from "../servers/types";

export const REGIONS = ["weur", "enam"] as const;

export const REGION_ENVIRONMENTS = ["rg-plumbing", "rg-one-region", "rg-unavailable"] as const;

export function environments(servers: Record<string, ServerInfo>) {
  const out: Record<string, unknown> = {};
  for (const name of REGION_ENVIRONMENTS) out[name] = scriptedEnvironment(servers, name, { probe_regions: [...REGIONS], lock_after_rollback: false });
  return out;
}
