// Slack messages (Block Kit) for `/deploy` answers and deploy notifications. Everything that comes
// from outside (reasons, branch names, actors) is escaped for mrkdwn; SHAs link to the commit and
// every deploy links to its page on the coordinator.
import type { Config } from "../config";
import type { DeployRow } from "../store/deploys";
import type { EnvironmentRow } from "../store/environments";
import type { Status } from "../rollout/state";
import type { LintFinding } from "../../protocol/agent";
import { bakingDescription } from "../rollout/bake";

export type ResponseType = "ephemeral" | "in_channel";
export interface SlackBlock {
  type: string;
  [k: string]: unknown;
}
export interface SlackMessage {
  response_type?: ResponseType;
  text: string;
  blocks?: SlackBlock[];
}

/** Slack's section text limit is 3000 characters; reasons are cut well below it. */
const MAX_REASON_CHARS = 600;

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const section = (text: string): SlackBlock => ({ type: "section", text: { type: "mrkdwn", text } });
const context = (text: string): SlackBlock => ({ type: "context", elements: [{ type: "mrkdwn", text }] });

export function commitLink(config: Config, sha: string): string {
  const safe = /^[0-9a-f]{7,40}$/i.test(sha) ? sha : encodeURIComponent(sha);
  return `<https://github.com/${config.GITHUB_REPOSITORY}/commit/${safe}|\`${esc(sha.slice(0, 7))}\`>`;
}

export function deployLink(config: Config, id: string, label = "details"): string {
  return `<${config.PUBLIC_URL.replace(/\/$/, "")}/deploys/${encodeURIComponent(id)}|${esc(label)}>`;
}

/** A Slack user id becomes a mention; anything else (CI actor, API) is shown as text. */
export function who(actor: string | null): string {
  if (!actor) return "someone";
  return /^[UW][A-Z0-9_]{2,20}$/.test(actor) ? `<@${actor}>` : esc(actor);
}

/** Slack renders this in the reader's own time zone; the fallback is ISO UTC. */
export function when(ms: number): string {
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${new Date(ms).toISOString()}>`;
}

export const STATUS_EMOJI: Record<Status, string> = {
  queued: ":hourglass_flowing_sand:",
  deploying: ":hammer_and_wrench:",
  verifying: ":mag:",
  baking: ":hourglass:",
  rolling_back: ":rotating_light:",
  succeeded: ":white_check_mark:",
  failed: ":x:",
  rolled_back: ":leftwards_arrow_with_hook:",
  rollback_failed: ":sos:",
  superseded: ":fast_forward:",
  cancelled: ":no_entry_sign:",
};

export function ephemeral(text: string): SlackMessage {
  return { response_type: "ephemeral", text, blocks: [section(text)] };
}

/** The one-line summary of what a deploy is doing or how it ended. */
export function deployHeadline(config: Config, d: DeployRow): string {
  const env = `*${esc(d.environment)}*`;
  const sha = commitLink(config, d.sha);
  const isRollback = d.trigger_source === "rollback";
  const thing = isRollback ? `Rollback of ${env} to ${sha}` : `Deploy of ${sha} to ${env}`;
  const e = STATUS_EMOJI[d.status];
  switch (d.status) {
    case "queued":
      return isRollback ? `:rewind: ${who(d.trigger_actor)} is rolling ${env} back to ${sha}` : `:rocket: ${who(d.trigger_actor)} is deploying ${sha} to ${env}`;
    case "deploying":
      return isRollback ? `${e} Rolling ${env} back to ${sha}` : `${e} Deploying ${sha} to ${env}`;
    case "verifying":
      return `${e} ${sha} is rolling out on ${env}; probing it from outside`;
    case "baking":
      return `${e} ${sha} is live on ${env} and passed its soak; ${d.bake_ends_at ? bakingDescription(d.bake_ends_at, Date.now()) : "baking"}, still probed`;
    case "rolling_back":
      return `${e} ${thing} failed; rolling back to ${d.rollback_sha ? commitLink(config, d.rollback_sha) : "the last verified release"}`;
    case "succeeded":
      return `${e} ${sha} is live on ${env} and verified`;
    case "failed":
      return `${e} ${thing} failed`;
    case "rolled_back":
      return `${e} ${thing} was rolled back; ${d.rollback_sha ? commitLink(config, d.rollback_sha) : "the previous release"} is serving ${env} again`;
    case "rollback_failed":
      return `${e} ${thing} failed and the rollback failed too; ${env} is locked`;
    case "superseded":
      return `${e} ${thing} was superseded by a newer request`;
    case "cancelled":
      return `${e} ${thing} was cancelled`;
  }
}

/** A deploy as a message: headline, the verdict's reason, lint findings, probe counts, trigger and a link to its page. */
export function deployMessage(config: Config, d: DeployRow, responseType?: ResponseType, lint: LintFinding[] = []): SlackMessage {
  const headline = deployHeadline(config, d);
  const blocks: SlackBlock[] = [section(headline)];
  if (d.reason && d.status !== "queued") blocks.push(section(`*Reason:* ${esc(truncate(d.reason, MAX_REASON_CHARS))}`));
  if (lint.length) blocks.push(section(lintText(lint)));
  const facts = [`\`${d.status}\``];
  if (d.probes_total > 0) facts.push(`probes ${d.probes_total} (${d.probes_failed} failed)`);
  if (d.rollback_probes_total > 0) facts.push(`rollback probes ${d.rollback_probes_total} (${d.rollback_probes_failed} failed)`);
  facts.push(`${esc(d.trigger_source)} by ${who(d.trigger_actor)}`, deployLink(config, d.id, "deploy page"));
  blocks.push(context(facts.join(" · ")));
  return { ...(responseType ? { response_type: responseType } : {}), text: headline, blocks };
}

/** Pre-flight lint findings (issue 10): the counts, then one line each (rule, service) up to a limit. */
export const MAX_LINT_LINES = 5;
function lintText(lint: LintFinding[]): string {
  const errors = lint.filter((f) => f.level === "error").length;
  const lines = lint.slice(0, MAX_LINT_LINES).map((f) => `• ${f.level === "error" ? ":x:" : ":warning:"} \`${esc(f.rule)}\` ${esc(truncate(f.message, 200))}`);
  if (lint.length > MAX_LINT_LINES) lines.push(`• … ${lint.length - MAX_LINT_LINES} more on the deploy page`);
  return `*Lint:* ${errors} error${errors === 1 ? "" : "s"}, ${lint.length - errors} warning${lint.length - errors === 1 ? "" : "s"}\n${lines.join("\n")}`;
}

export function helpMessage(environments: readonly string[]): SlackMessage {
  const envs = environments.map((e) => `\`${esc(e)}\``).join(", ");
  const one = environments.length === 1;
  const env = one ? "[env]" : "<env>";
  const lines = [
    `*\`/deploy\`* — deploy, watch and roll back from Slack. Environments: ${envs}${one ? " (the only one, so it may be left out)" : ""}.`,
    `• \`/deploy <sha | short sha | branch> ${env}\` — deploy a commit whose checks are green`,
    `• \`/deploy status [env]\` — verified release, rollout in progress, lock`,
    `• \`/deploy history [env]\` — the last 10 deploys and their verdicts`,
    `• \`/deploy rollback ${env} [sha]\` — back to the last verified release, or to an earlier SHA (works while locked)`,
    `• \`/deploy lock ${env} <reason>\` · \`/deploy unlock ${env}\` — stop or allow deploys`,
    `Deploying, rolling back and locking are open to the people in \`SLACK_ALLOWED_USERS\`; everyone may read.`,
  ];
  return { response_type: "ephemeral", text: lines.join("\n"), blocks: [section(lines.join("\n"))] };
}

export interface EnvironmentStatus {
  name: string;
  env: EnvironmentRow;
  inFlight: DeployRow | null;
  queued: DeployRow | null;
  last: DeployRow | null;
}

export function statusMessage(config: Config, items: EnvironmentStatus[]): SlackMessage {
  const blocks: SlackBlock[] = [];
  const texts: string[] = [];
  for (const s of items) {
    const lines = [`*${esc(s.name)}*`];
    lines.push(`Verified: ${s.env.verified_sha ? `${commitLink(config, s.env.verified_sha)}${s.env.verified_at ? ` since ${when(s.env.verified_at)}` : ""}` : "none yet"}`);
    if (s.inFlight) lines.push(`Active: ${activeLine(config, s.inFlight)}`);
    if (s.queued) lines.push(`Queued: ${commitLink(config, s.queued.sha)} by ${who(s.queued.trigger_actor)} · ${deployLink(config, s.queued.id)}`);
    if (!s.inFlight && !s.queued) lines.push("Active: nothing in progress");
    lines.push(
      s.env.locked
        ? `:lock: Locked by ${who(s.env.lock_actor)}${s.env.locked_at ? ` since ${when(s.env.locked_at)}` : ""}: ${esc(truncate(s.env.lock_reason ?? "", MAX_REASON_CHARS))}`
        : "Not locked",
    );
    const last = s.last && s.last.finished_at ? s.last : null;
    if (last) lines.push(`Last verdict: ${STATUS_EMOJI[last.status]} \`${last.status}\` ${commitLink(config, last.sha)} ${when(last.finished_at!)} · ${deployLink(config, last.id)}`);
    blocks.push(section(lines.join("\n")));
    texts.push(lines.join("\n"));
  }
  return { response_type: "ephemeral", text: texts.join("\n\n") || "no environments configured", blocks };
}

function activeLine(config: Config, d: DeployRow): string {
  const probes = d.status === "rolling_back" ? `rollback probes ${d.rollback_probes_total} (${d.rollback_probes_failed} failed)` : `probes ${d.probes_total} (${d.probes_failed} failed)`;
  const target = d.status === "rolling_back" && d.rollback_sha ? ` → ${commitLink(config, d.rollback_sha)}` : "";
  return `${STATUS_EMOJI[d.status]} ${commitLink(config, d.sha)}${target} \`${d.status}\` · ${probes} · by ${who(d.trigger_actor)} · ${deployLink(config, d.id)}`;
}

export function historyMessage(config: Config, scope: string | undefined, deploys: DeployRow[]): SlackMessage {
  const title = `*Last ${deploys.length} deploy${deploys.length === 1 ? "" : "s"}${scope ? ` of ${esc(scope)}` : ""}*`;
  if (deploys.length === 0) return ephemeral(`No deploys yet${scope ? ` on *${esc(scope)}*` : ""}.`);
  const lines = deploys.map((d) => {
    const env = scope ? "" : ` *${esc(d.environment)}*`;
    const reason = d.reason && d.status !== "succeeded" ? ` — ${esc(truncate(d.reason, 160))}` : "";
    return `${STATUS_EMOJI[d.status]}${env} ${commitLink(config, d.sha)} \`${d.status}\`${reason} · ${esc(d.trigger_source)} by ${who(d.trigger_actor)} · ${when(d.created_at)} · ${deployLink(config, d.id)}`;
  });
  const text = [title, ...lines].join("\n");
  return { response_type: "ephemeral", text, blocks: [section(truncate(text, 2900))] };
}

export function lockMessage(env: EnvironmentRow, actor: string): SlackMessage {
  const text = `:lock: ${who(actor)} locked *${esc(env.name)}*: ${esc(truncate(env.lock_reason ?? "", MAX_REASON_CHARS))}\nDeploys are refused until \`/deploy unlock ${esc(env.name)}\`; \`/deploy rollback ${esc(env.name)}\` still works.`;
  return { response_type: "in_channel", text, blocks: [section(text)] };
}

export function unlockMessage(env: EnvironmentRow, actor: string): SlackMessage {
  const text = `:unlock: ${who(actor)} unlocked *${esc(env.name)}*; deploys are accepted again.`;
  return { response_type: "in_channel", text, blocks: [section(text)] };
}
