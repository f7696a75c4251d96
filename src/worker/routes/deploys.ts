// Route group /v1/deploys: CI's authenticated intake (GitHub Actions OIDC) and the deploy reads.
// CI: POST / with its OIDC token; it may poll GET /:id with that same token (reads never consume
// the jti, so one token serves a whole `?wait=` polling loop until it expires).
// People and tools: API_TOKEN for reads, the list and cancel.
import type { Context } from "hono";
import { z } from "zod";
import { type AppEnv, coordinator, newApp } from "../app";
import { bearerToken, hasApiToken, requireApiToken } from "../auth/api-token";
import { jwksFor } from "../auth/jwks";
import { type GithubOidcClaims, CLOCK_SKEW_SECONDS, authorizeDeploy, trustPolicy, verifyGithubOidc } from "../auth/oidc";
import { ApiError, unauthorized } from "../errors";
import type { SubmitResult } from "../rollout/coordinator";
import { deployJson, getDeploy, getUpdatedAt, listDeploys, listEvents } from "../store/deploys";
import { apiActor, parseBody, requireEnvironment, requireSha, submitResponse } from "./http";

/** ?wait= may hold a request this long (DESIGN: N ≤ 25 s). */
export const MAX_WAIT_SECONDS = 25;
/** How often a long-poll re-reads the deploy: 25 reads at most per request, well under 50 subrequests. */
export const WAIT_POLL_MS = 1_000;
/** GET /v1/deploys?limit=: 1–100, default 20. */
export const LIST_LIMIT = { min: 1, max: 100, default: 20 } as const;

const DeployRequestSchema = z.strictObject({ environment: z.string().min(1).max(100), sha: z.string() });

/** Verifies the request's GitHub OIDC bearer token (401 on failure); does not consume the jti. */
async function requireOidc(c: Context<AppEnv>): Promise<GithubOidcClaims> {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw unauthorized("no bearer token");
  const config = c.get("config");
  const now = Date.now();
  const r = await verifyGithubOidc(token, trustPolicy(config), { now, jwks: jwksFor(config.GITHUB_OIDC_JWKS_URL).resolver(now) });
  if (!r.ok) throw unauthorized(`oidc: ${r.reason}`);
  return r.claims;
}

export const deploys = newApp()
  .post("/", async (c) => {
    // raw bytes first (the body limit has already answered 413 over 64 KiB), then who is asking
    const raw = await c.req.text();
    const claims = await requireOidc(c);
    const body = parseBody(raw, DeployRequestSchema);
    const sha = requireSha(body.sha);
    const environment = requireEnvironment(c, body.environment).name;
    const denied = authorizeDeploy(claims, trustPolicy(c.get("config")), { environment, sha });
    if (denied && !denied.ok) throw new ApiError("forbidden", "this token may not deploy this request", `oidc: ${denied.reason}`);

    let r: SubmitResult;
    try {
      r = await coordinator(c.env, environment).submit({
        environment,
        sha,
        trigger: { source: "ci", actor: claims.actor },
        idempotency_key: `${environment}:${sha}:${claims.run_id}:${claims.run_attempt}`,
        run_id: claims.run_id,
        run_attempt: claims.run_attempt,
        ref: claims.ref,
        jti: { id: claims.jti, expires_at: (claims.exp + CLOCK_SKEW_SECONDS) * 1000 },
      });
    } catch (e) {
      // Each environment's coordinator checks the jti in its own serial section; the same token
      // sent to two environments at once loses the race on seen_tokens' primary key instead
      // (the batch, deploy included, is rolled back): that is a replay too.
      if (/UNIQUE constraint failed: seen_tokens\.jti/.test(String((e as Error)?.message))) throw unauthorized("token (jti) already used (concurrently, other environment)");
      throw e;
    }
    console.log(JSON.stringify({ msg: "ci deploy request", environment, sha, result: r.kind, repository: claims.repository, run_id: claims.run_id, actor: claims.actor }));
    return submitResponse(c, r);
  })
  .get("/", requireApiToken, async (c) => {
    const environment = c.req.query("environment");
    if (environment !== undefined) requireEnvironment(c, environment);
    const limitParam = c.req.query("limit");
    let limit: number = LIST_LIMIT.default;
    if (limitParam !== undefined) {
      limit = /^[0-9]{1,3}$/.test(limitParam) ? Number(limitParam) : Number.NaN;
      if (!(limit >= LIST_LIMIT.min && limit <= LIST_LIMIT.max)) throw new ApiError("bad_request", `limit must be an integer from ${LIST_LIMIT.min} to ${LIST_LIMIT.max}`);
    }
    const rows = await listDeploys(c.env.DB, { environment, limit });
    return c.json({ deploys: rows.map((d) => deployJson(d)) });
  })
  .get("/:id", async (c) => {
    if (!hasApiToken(c)) await requireOidc(c); // either credential reads; neither consumes anything
    const waitParam = c.req.query("wait");
    let wait = 0;
    if (waitParam !== undefined) {
      wait = /^[0-9]{1,2}$/.test(waitParam) ? Number(waitParam) : Number.NaN;
      if (!(wait >= 0 && wait <= MAX_WAIT_SECONDS)) throw new ApiError("bad_request", `wait must be an integer from 0 to ${MAX_WAIT_SECONDS} (seconds)`);
    }
    const db = c.env.DB;
    const id = c.req.param("id");
    let d = await getDeploy(db, id);
    if (!d) throw new ApiError("not_found", "no such deploy");
    // Long-poll: answer as soon as the deploy changes, or after `wait` seconds. A finished deploy
    // will not change again, so it is answered at once.
    if (wait > 0 && d.finished_at === null) {
      const seen = d.updated_at;
      const deadline = Date.now() + wait * 1000;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, Math.min(WAIT_POLL_MS, deadline - Date.now())));
        const updatedAt = await getUpdatedAt(db, id);
        if (updatedAt !== null && updatedAt !== seen) break;
      }
      d = (await getDeploy(db, id))!;
    }
    return c.json({ deploy: deployJson(d, await listEvents(db, id)) });
  })
  .post("/:id/cancel", requireApiToken, async (c) => {
    const id = c.req.param("id");
    const d = await getDeploy(c.env.DB, id);
    if (!d) throw new ApiError("not_found", "no such deploy");
    const r = await coordinator(c.env, d.environment).cancel(d.environment, id, apiActor(c));
    if (!r.ok) throw new ApiError(r.code, r.message);
    return c.json({ deploy: r.value });
  });
