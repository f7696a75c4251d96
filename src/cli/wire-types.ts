// The API's JSON as the CLI reads it: the Worker's wire schemas' types (type-only, so nothing of
// the Worker reaches the CLI bundle and the two cannot drift apart).
export type { DeployWire, EnvironmentStatusWire, EnvironmentWire } from "../worker/openapi/wire";
