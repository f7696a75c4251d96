// Route group: POST /v1/slack/commands — the `/deploy` slash command. The signature is checked on
// the raw bytes before the form is parsed; a refused request is a generic 401 and leaves no trace.
import { newApp } from "../app";
import { verifySlackRequest } from "../auth/slack";
import { unauthorized } from "../errors";
import { SlashCommandSchema, handleSlashCommand } from "../slack/handle";
import { ephemeral } from "../slack/messages";

export const slack = newApp();

slack.post("/", async (c) => {
  const config = c.get("config");
  // the exact bytes Slack signed (read as bytes: workerd warns about .text() on a form body)
  const raw = new TextDecoder().decode(await c.req.arrayBuffer());
  const now = Date.now();
  const verified = await verifySlackRequest(raw, c.req.raw.headers, [config.SLACK_SIGNING_SECRET, config.SLACK_SIGNING_SECRET_PREVIOUS], { now });
  if (!verified.ok) throw unauthorized(`slack signature: ${verified.reason}`);
  const form = SlashCommandSchema.safeParse(Object.fromEntries(new URLSearchParams(raw)));
  if (!form.success) return c.json(ephemeral(":warning: That request was missing fields Slack normally sends; nothing was done."));
  const message = await handleSlashCommand({ config, env: c.env, now, waitUntil: (p) => c.executionCtx.waitUntil(p) }, form.data);
  return c.json(message);
});
