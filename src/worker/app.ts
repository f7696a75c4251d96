// The Hono app type shared by every route group: bindings, and the parsed config per request.
import { Hono } from "hono";
import type { Config } from "./config";

export type AppEnv = { Bindings: Env; Variables: { config: Config } };

export const newApp = () => new Hono<AppEnv>();

/** The coordinator (Durable Object) of one environment. */
export function coordinator(env: Env, environment: string) {
  return env.COORDINATOR.get(env.COORDINATOR.idFromName(environment)) as unknown as DurableObjectStub<import("./rollout/coordinator").EnvironmentCoordinator>;
}
