// Route group /v1/environments/:env (API_TOKEN): roll back, lock, unlock. A rollback passes a
// lock (DESIGN "Locks": people can always restore production); every other deploy is refused.
import { z } from "zod";
import { coordinator, newApp } from "../app";
import { requireApiToken } from "../auth/api-token";
import { ApiError } from "../errors";
import { type EnvironmentRow, getEnvironment, lockJson } from "../store/environments";
import { apiActor, parseBody, requireEnvironment, requireSha, submitResponse } from "./http";

const RollbackSchema = z.strictObject({ sha: z.string().optional() });
const LockSchema = z.strictObject({ reason: z.string().trim().min(1, "a lock needs a reason").max(500) });

/** The environment's state as the admin API shows it. */
export function environmentJson(e: EnvironmentRow) {
  return {
    name: e.name,
    verified_sha: e.verified_sha,
    verified_at: e.verified_at === null ? null : new Date(e.verified_at).toISOString(),
    verified_deploy_id: e.verified_deploy_id,
    locked: e.locked,
    lock: lockJson(e),
  };
}

export const environments = newApp()
  .use("*", requireApiToken)
  .post("/:env/rollback", async (c) => {
    const raw = await c.req.text();
    const environment = requireEnvironment(c, c.req.param("env")).name;
    const body = parseBody(raw, RollbackSchema, { emptyAs: {} });
    let sha: string;
    if (body.sha !== undefined) sha = requireSha(body.sha);
    else {
      const verified = (await getEnvironment(c.env.DB, environment)).verified_sha;
      if (!verified) throw new ApiError("conflict", `${environment} has no verified release to roll back to; give one: {"sha": "<40 hex>"}`);
      sha = verified;
    }
    const actor = apiActor(c);
    const r = await coordinator(c.env, environment).submit({ environment, sha, trigger: { source: "rollback", actor } });
    console.log(JSON.stringify({ msg: "rollback requested", environment, sha, actor, result: r.kind }));
    return submitResponse(c, r);
  })
  .post("/:env/lock", async (c) => {
    const raw = await c.req.text();
    const environment = requireEnvironment(c, c.req.param("env")).name;
    const { reason } = parseBody(raw, LockSchema);
    const row = await coordinator(c.env, environment).lock(environment, reason, apiActor(c));
    return c.json({ environment: environmentJson(row as EnvironmentRow) });
  })
  .delete("/:env/lock", async (c) => {
    const environment = requireEnvironment(c, c.req.param("env")).name;
    const row = await coordinator(c.env, environment).unlock(environment, apiActor(c));
    return c.json({ environment: environmentJson(row as EnvironmentRow) });
  });
