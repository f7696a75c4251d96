// Compile-time proof that what the routes answer is what the document describes: each builder's
// return type and its wire schema's type must be assignable both ways, so `npm run typecheck`
// fails the moment a route answers a field the document lacks (or the document promises one the
// route never sends). Type-only: nothing here reaches the bundle.
import type { environmentJson } from "../routes/environments";
import type { environmentStatus } from "../routes/status";
import type { TRIGGER_SOURCES as STORE_TRIGGER_SOURCES, deployJson } from "../store/deploys";
import type { DeployWire, EnvironmentStatusWire, EnvironmentWire, TRIGGER_SOURCES } from "./wire";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type Conformance = [
  Assert<Same<(typeof TRIGGER_SOURCES)[number], (typeof STORE_TRIGGER_SOURCES)[number]>>,
  // reason_data is the engine's recursive ReasonData (serialisable over RPC); the document's schema
  // is its looser JSON shape: every ReasonData must fit it, the rest of the deploy must match exactly
  Assert<Same<Omit<ReturnType<typeof deployJson>, "reason_data">, Omit<DeployWire, "reason_data">>>,
  Assert<ReturnType<typeof deployJson>["reason_data"] extends DeployWire["reason_data"] ? true : false>,
  Assert<Same<ReturnType<typeof environmentJson>, EnvironmentWire>>,
  Assert<Same<ReturnType<typeof environmentStatus>, EnvironmentStatusWire>>,
];
