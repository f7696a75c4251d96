// Slack notifications of deploy changes (response_url follow-ups, the incoming webhook).
// (Filled in by the Slack issue; the rollout engine calls notifyDeploy on every `notify` effect.)
import type { Config } from "../config";
import type { DeployRow } from "../store/deploys";

export async function notifyDeploy(_config: Config, _db: D1Database, _deploy: DeployRow): Promise<void> {}
