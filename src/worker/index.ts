// deploy-coordinator: every door of the Worker is wired here, nothing else.
import { bodyLimit } from "hono/body-limit";
import { loadConfig } from "./config";
import { onError, ApiError } from "./errors";
import { newApp } from "./app";
import { health } from "./routes/health";
import { deploys } from "./routes/deploys";
import { environments } from "./routes/environments";
import { webhook } from "./routes/webhook";
import { slack } from "./routes/slack";
import { status } from "./routes/status";
import { pages } from "./routes/pages";
import { openapi } from "./routes/openapi"; // /openapi.json + /docs (issue 15)
import { watchdog } from "./rollout/watchdog";
import { pruneIsDue, runRetention } from "./store/retention";
import { monitors } from "./routes/monitors"; // monitor alerts in (issue 13)

export { EnvironmentCoordinator } from "./rollout/coordinator";
export { ProbeSite } from "./rollout/probe-site"; // probes from several regions (issue 14)

/** exported for the route-table test (test/worker/openapi/): the document must describe every route */
export const app = newApp();

app.onError(onError);
app.notFound((c) => c.json({ error: { code: "not_found", message: "not found" } }, 404));
// Every request sees a valid configuration, or a 500 naming the field (logged once per request).
app.use("*", async (c, next) => {
  c.set("config", loadConfig(c.env as unknown as Record<string, unknown>));
  await next();
});
app.use("/v1/*", bodyLimit({ maxSize: 64 * 1024, onError: () => { throw new ApiError("payload_too_large", "request body over 64 KiB"); } }));

app.route("/healthz", health);
app.route("/v1/deploys", deploys);
app.route("/v1/environments", environments);
app.route("/v1/github/webhook", webhook);
app.route("/v1/slack/commands", slack);
app.route("/v1/monitors", monitors); // monitor alerts in (issue 13)
app.route("/", status);
app.route("/", pages);
app.route("/", openapi); // /openapi.json + /docs (issue 15)

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(watchdog(env, Date.now()));
    // retention (issue 12): replay tables and old probe samples, once an hour
    if (pruneIsDue(controller.scheduledTime)) ctx.waitUntil(runRetention(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
