// What `/deploy` does once the request is verified: deduplicate the trigger_id, parse, check who
// may change things, then answer. Reads (help, status, history) are answered at once; anything
// that talks to GitHub or the coordinator runs after the acknowledgement (waitUntil) and answers
// through the request's response_url, so Slack always hears back within its 3 seconds.
import { z } from "zod";
import { coordinator } from "../app";
import type { Config } from "../config";
import { checksVerdict, resolveRef } from "../integrations/commits";
import { githubClient } from "../integrations/github-client";
import { announceDeploy, isAllowedResponseUrl, postSlack } from "./notify";
import type { SubmitResult } from "../rollout/coordinator";
import { getDeploy, listDeploys, shasByPrefix } from "../store/deploys";
import { type EnvironmentRow, getEnvironment } from "../store/environments";
import { environmentOverviews } from "../store/pages";
import { firstSlackSighting, linkSlackTrigger } from "../store/seen";
import { type MutatingCommand, isMutating, parseCommand } from "./command";
import { type EnvironmentStatus, type SlackMessage, commitLink, ephemeral, esc, helpMessage, historyMessage, lockMessage, statusMessage, unlockMessage, who } from "./messages";

/** Slack may retry a command; a trigger_id is remembered this long. */
export const TRIGGER_ID_TTL_MS = 60 * 60_000;
export const HISTORY_LIMIT = 10;
/** All GitHub look-ups of one `/deploy <ref>` together (waitUntil ends 30 s after the answer). */
export const GITHUB_LOOKUP_BUDGET_MS = 20_000;

/** The fields of Slack's slash-command form that we use. */
export const SlashCommandSchema = z.object({
  user_id: z.string().min(1).max(64),
  text: z.string().max(4000).default(""),
  response_url: z.string().max(2000).default(""),
  trigger_id: z.string().max(200).optional(),
  channel_id: z.string().max(64).optional(),
});
export type SlashCommand = z.infer<typeof SlashCommandSchema>;

export interface SlackDeps {
  config: Config;
  env: Env;
  now: number;
  /** keeps background work alive after the acknowledgement (ExecutionContext.waitUntil) */
  waitUntil(p: Promise<unknown>): void;
}

export async function handleSlashCommand(deps: SlackDeps, req: SlashCommand): Promise<SlackMessage> {
  const { config, env, now } = deps;
  const db = env.DB;
  if (req.trigger_id && !(await firstSighting(db, req.trigger_id, now))) {
    return ephemeral(":repeat: This command was already handled.");
  }
  const environments = Object.keys(config.ENVIRONMENTS);
  const parsed = parseCommand(req.text, environments);
  if (!parsed.ok) return ephemeral(`:thinking_face: ${esc(parsed.error)}\nTry \`/deploy help\`.`);
  const cmd = parsed.command;

  if (isMutating(cmd)) {
    if (!config.SLACK_ALLOWED_USERS.has(req.user_id)) {
      console.warn(JSON.stringify({ msg: "slack command refused", reason: "user not in SLACK_ALLOWED_USERS", user: req.user_id, command: cmd.kind }));
      return ephemeral(
        `:wave: Sorry ${who(req.user_id)}, deploying, rolling back and locking are limited to a few people here. You can still use \`/deploy status\` and \`/deploy history\`; ask one of them if something needs to ship.`,
      );
    }
    if (!isAllowedResponseUrl(req.response_url)) return ephemeral(":warning: This request has no usable response_url, so I could not report back; nothing was done.");
    const reply = (m: SlackMessage) => postSlack(req.response_url, { ...m, replace_original: false });
    deps.waitUntil(
      runInBackground(deps, req, cmd).catch(async (e) => {
        console.error(JSON.stringify({ msg: "slack command failed", command: cmd.kind, user: req.user_id, error: String((e as Error)?.stack ?? e) }));
        await reply(ephemeral(`:warning: \`/deploy ${cmd.kind}\` failed: ${esc(String((e as Error)?.message ?? e))}`));
      }),
    );
    return ephemeral(acknowledgement(cmd));
  }

  switch (cmd.kind) {
    case "help":
      return helpMessage(environments);
    case "status":
      return statusMessage(config, await statusOf(db, cmd.environment ? [cmd.environment] : environments));
    case "history": {
      const deploys = await listDeploys(db, { environment: cmd.environment, limit: HISTORY_LIMIT });
      return historyMessage(config, cmd.environment, deploys);
    }
  }
  // unreachable: every read command returned above, every mutating one is handled before
  return ephemeral("Try `/deploy help`.");
}

/** Every environment's state, from the read model the pages use (store/pages.ts): one D1 batch. */
async function statusOf(db: D1Database, names: string[]): Promise<EnvironmentStatus[]> {
  const overviews = await environmentOverviews(db, names, { recent: 0 });
  return overviews.map((o) => ({ name: o.name, env: o.state, inFlight: o.inFlight, queued: o.queued, last: o.lastVerdict }));
}

/** Records the trigger_id; false when it was seen within TRIGGER_ID_TTL_MS. */
const firstSighting = (db: D1Database, triggerId: string, now: number) => firstSlackSighting(db, triggerId, now, TRIGGER_ID_TTL_MS);

function acknowledgement(cmd: MutatingCommand): string {
  const env = `*${esc(cmd.environment)}*`;
  switch (cmd.kind) {
    case "deploy":
      return `:hourglass_flowing_sand: Checking \`${esc(cmd.ref)}\` for ${env}: resolving the commit and its checks…`;
    case "rollback":
      return `:hourglass_flowing_sand: Rolling ${env} back${cmd.sha ? ` to \`${esc(cmd.sha)}\`` : " to its last verified release"}…`;
    case "lock":
      return `:hourglass_flowing_sand: Locking ${env}…`;
    case "unlock":
      return `:hourglass_flowing_sand: Unlocking ${env}…`;
  }
}

async function runInBackground(deps: SlackDeps, req: SlashCommand, cmd: MutatingCommand): Promise<void> {
  const { config, env } = deps;
  const db = env.DB;
  const reply = (m: SlackMessage) => postSlack(req.response_url, { ...m, replace_original: false });
  switch (cmd.kind) {
    case "deploy": {
      const envRow = await getEnvironment(db, cmd.environment);
      if (envRow.locked) return void (await reply(lockedRefusal(cmd.environment, envRow)));
      const octokit = await githubClient(config);
      if (!octokit) return void (await reply(ephemeral(":warning: GitHub access is not configured (GITHUB_TOKEN or a GitHub App), so I can't resolve commits or check CI; nothing was deployed.")));
      const signal = AbortSignal.timeout(GITHUB_LOOKUP_BUDGET_MS);
      const resolved = await resolveRef(octokit, config.GITHUB_REPOSITORY, cmd.ref, { signal });
      if (!resolved.ok) {
        return void (await reply(
          ephemeral(resolved.reason === "not_found" ? `:mag: There is no branch or commit \`${esc(cmd.ref)}\` in ${esc(config.GITHUB_REPOSITORY)}; nothing was deployed.` : `:warning: ${esc(resolved.message)}; nothing was deployed.`),
        ));
      }
      const sha = resolved.sha;
      const verdict = await checksVerdict(octokit, config.GITHUB_REPOSITORY, sha, { signal });
      const target = `${commitLink(config, sha)} to *${esc(cmd.environment)}*`;
      if (verdict.kind === "red") return void (await reply(ephemeral(`:no_entry: Not deploying ${target}: failed checks: ${verdict.failing.map(esc).join(", ")}.`)));
      if (verdict.kind === "pending") return void (await reply(ephemeral(`:hourglass: Not deploying ${target} yet: checks still running: ${verdict.running.map(esc).join(", ")}. Try again when they are green.`)));
      if (verdict.kind === "error") return void (await reply(ephemeral(`:warning: Not deploying ${target}: ${esc(verdict.message)}.`)));
      const isSha = sha.startsWith(cmd.ref.toLowerCase());
      const result = await coordinator(env, cmd.environment).submit({
        environment: cmd.environment,
        sha,
        trigger: { source: "slack", actor: req.user_id },
        ...(isSha ? {} : { ref: `refs/heads/${cmd.ref}` }),
        notify_url: req.response_url,
      });
      return void (await afterSubmit(deps, req, cmd.environment, result, reply));
    }
    case "rollback": {
      const envRow = await getEnvironment(db, cmd.environment);
      const target = cmd.sha ? await earlierSha(db, cmd.environment, cmd.sha) : envRow.verified_sha ? { ok: true as const, sha: envRow.verified_sha } : { ok: false as const, message: `*${esc(cmd.environment)}* has no verified release yet; name the SHA: \`/deploy rollback ${esc(cmd.environment)} <sha>\`` };
      if (!target.ok) return void (await reply(ephemeral(`:warning: ${target.message}`)));
      const result = await coordinator(env, cmd.environment).submit({
        environment: cmd.environment,
        sha: target.sha,
        trigger: { source: "rollback", actor: req.user_id },
        notify_url: req.response_url,
      });
      return void (await afterSubmit(deps, req, cmd.environment, result, reply));
    }
    case "lock": {
      const row = await coordinator(env, cmd.environment).lock(cmd.environment, cmd.reason, req.user_id);
      return void (await reply(lockMessage(row, req.user_id)));
    }
    case "unlock": {
      const before = await getEnvironment(db, cmd.environment);
      if (!before.locked) return void (await reply(ephemeral(`*${esc(cmd.environment)}* is not locked; nothing to do.`)));
      const row = await coordinator(env, cmd.environment).unlock(cmd.environment, req.user_id);
      return void (await reply(unlockMessage(row, req.user_id)));
    }
  }
}

async function afterSubmit(deps: SlackDeps, req: SlashCommand, environment: string, result: SubmitResult, reply: (m: SlackMessage) => Promise<boolean>): Promise<void> {
  const db = deps.env.DB;
  switch (result.kind) {
    case "created": {
      const row = await getDeploy(db, result.deploy.id);
      if (req.trigger_id) await linkSlackTrigger(db, req.trigger_id, result.deploy.id);
      if (row) await announceDeploy(deps.config, db, row);
      return;
    }
    case "existing":
      await reply(ephemeral(`That deploy already exists: \`${esc(result.deploy.id)}\` (${esc(result.deploy.status)}).`));
      return;
    case "locked":
      await reply(lockedRefusal(environment, { lock_reason: result.lock?.reason ?? null, lock_actor: result.lock?.actor ?? null }));
      return;
    case "replay":
      await reply(ephemeral(":repeat: This command was already handled."));
      return;
  }
}

function lockedRefusal(environment: string, lock: Pick<EnvironmentRow, "lock_reason" | "lock_actor">): SlackMessage {
  const env = esc(environment);
  return ephemeral(
    `:lock: Not deploying: *${env}* is locked by ${who(lock.lock_actor)}: ${esc(lock.lock_reason ?? "no reason given")}.\n\`/deploy unlock ${env}\` lifts the lock; \`/deploy rollback ${env}\` works while locked.`,
  );
}

/**
 * A rollback target named by the user: a full SHA as given, or an abbreviation of a SHA this
 * environment has deployed before (rollbacks go to releases we know, so no GitHub look-up).
 */
async function earlierSha(db: D1Database, environment: string, sha: string): Promise<{ ok: true; sha: string } | { ok: false; message: string }> {
  if (/^[0-9a-f]{40}$/.test(sha)) return { ok: true, sha };
  const results = await shasByPrefix(db, environment, sha, 3);
  if (results.length === 1) return { ok: true, sha: results[0] };
  if (results.length === 0) return { ok: false, message: `no earlier deploy of *${esc(environment)}* matches \`${esc(sha)}\`; give the full 40-character SHA` };
  return { ok: false, message: `\`${esc(sha)}\` matches several SHAs deployed to *${esc(environment)}*; give more characters` };
}
