// `deploy-coordinator`: the everyday operations from a terminal — what runs where, follow a deploy
// to its verdict, deploy a SHA, roll back, lock, unlock — plus the agent's lint and key generation.
// Talks to the Worker's HTTP API with the API token (DEPLOY_COORDINATOR_URL / _TOKEN or flags);
// human output by default, --json for scripts. Exit codes: see ./errors.ts (0 only for success).
import os from "node:os";
import { Command, CommanderError, Option } from "commander";
import { TERMINAL, TransientError, followDeploy, probeLine } from "../../deploy/action/follow-loop.mjs";
import { agentKeyPair } from "../../scripts/keys";
import { LintInputError, formatFinding, hasErrors, lintComposeFile } from "../agent/lint/index";
import { Coordinator, connection } from "./client";
import { CliError, EXIT, type ExitCode } from "./errors";
import { type Style, paint, probes, short, statusPaint, styleFor, table, when } from "./format";
import type { DeployWire, EnvironmentStatusWire, EnvironmentWire } from "./wire-types";

const SHA = /^[0-9a-f]{40}$/;
/** `show --follow` stops following after this long unless --timeout says otherwise (the action's default). */
const DEFAULT_FOLLOW_MINUTES = 20;

interface GlobalFlags {
  url?: string;
  token?: string;
  json?: boolean;
  actor?: string;
}

interface Io {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

export async function run(argv: string[], io: Io = { out: process.stdout, err: process.stderr, env: process.env }): Promise<ExitCode> {
  const style = styleFor(io.out, io.env);
  const errStyle = styleFor(io.err, io.env);
  const say = (s = ""): void => void io.out.write(`${s}\n`);
  const printJson = (v: unknown): void => void io.out.write(`${JSON.stringify(v, null, 2)}\n`);
  let exit: ExitCode = EXIT.ok;

  const program = new Command("deploy-coordinator")
    .description("Zero-downtime Docker Swarm deploys from the terminal: status, deploys, follow, deploy, rollback, lock.")
    .addOption(new Option("--url <url>", "the coordinator's base URL").env("DEPLOY_COORDINATOR_URL"))
    .addOption(new Option("--token <token>", "the Worker's API_TOKEN (prefer the environment variable: flags show in `ps`)").env("DEPLOY_COORDINATOR_TOKEN"))
    .option("--actor <name>", "who is asking, recorded as api:<name>", defaultActor())
    .option("--json", "print JSON for scripts instead of tables")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) });

  const flags = () => program.opts<GlobalFlags>();
  const api = () => new Coordinator(connection(flags(), io.env));

  program
    .command("status")
    .description("every environment (or one): verified SHA, active rollout, lock, last verdict")
    .argument("[env]", "only this environment")
    .action(async (env?: string) => {
      const body = await api().call<{ environments: EnvironmentStatusWire[] }>("GET", "/v1/status", { auth: false });
      const list = env ? body.environments.filter((e) => e.name === env) : body.environments;
      if (env && list.length === 0) throw new CliError(`unknown environment ${JSON.stringify(env)}: the coordinator has ${body.environments.map((e) => e.name).join(", ") || "none"}`, EXIT.refused, "unknown_environment");
      if (flags().json) return printJson({ environments: list });
      say(
        table(
          ["ENVIRONMENT", "VERIFIED", "SINCE", "LOCK", "ACTIVE", "LAST VERDICT"],
          list.map((e) => [
            e.name,
            short(e.verified_sha),
            when(e.verified_at),
            e.lock ? paint(style, "red", `locked: ${e.lock.reason ?? "no reason"}`) : "-",
            e.active_rollout ? `${paint(style, statusPaint(e.active_rollout.status), e.active_rollout.status)} ${short(e.active_rollout.sha)} probes ${probes(e.active_rollout.probes)}` : "-",
            e.last_verdict ? `${paint(style, statusPaint(e.last_verdict.status), e.last_verdict.status)} ${short(e.last_verdict.sha)} ${when(e.last_verdict.finished_at)}` : "-",
          ]),
          style,
        ),
      );
    });

  program
    .command("deploys")
    .description("recent deploys, newest first")
    .argument("[env]", "only this environment")
    .option("-n, --limit <n>", "how many (1-100)", "20")
    .action(async (env: string | undefined, o: { limit: string }) => {
      if (!/^\d{1,3}$/.test(o.limit) || Number(o.limit) < 1 || Number(o.limit) > 100) throw new CliError("--limit must be a whole number from 1 to 100", EXIT.usage);
      const q = new URLSearchParams({ limit: o.limit });
      if (env) q.set("environment", env);
      const body = await api().call<{ deploys: DeployWire[] }>("GET", `/v1/deploys?${q}`);
      if (flags().json) return printJson(body);
      if (body.deploys.length === 0) return say(`no deploys${env ? ` of ${env}` : ""} yet`);
      say(
        table(
          ["ID", "ENVIRONMENT", "SHA", "STATUS", "TRIGGER", "CREATED", "PROBES", "REASON"],
          body.deploys.map((d) => [d.id, d.environment, short(d.sha), paint(style, statusPaint(d.status), d.status), `${d.trigger.source}:${d.trigger.actor}`, when(d.created_at), probes(d.probes), oneLine(d.reason)]),
          style,
        ),
      );
    });

  program
    .command("show")
    .description("one deploy; --follow shows its phases and probe counts until the verdict (exit 0 only for succeeded)")
    .argument("<id>", "a deploy id (see `deploys`)")
    .option("-f, --follow", "follow until the verdict")
    .option("--timeout <minutes>", "stop following after this long", String(DEFAULT_FOLLOW_MINUTES))
    .action(async (id: string, o: { follow?: boolean; timeout: string }) => {
      const c = api();
      let { deploy } = await c.call<{ deploy: DeployWire }>("GET", `/v1/deploys/${encodeURIComponent(id)}`);
      if (o.follow) deploy = await follow(c, deploy, minutes(o.timeout));
      report(c, deploy);
    });

  const submitAndReport = async (c: Coordinator, env: string, body: { sha?: string }, o: { follow?: boolean; timeout: string }, verb: string) => {
    const r = await c.call<{ deploy: DeployWire }>("POST", `/v1/environments/${encodeURIComponent(env)}/rollback`, { body });
    let deploy = r.deploy;
    if (!flags().json) say(`${verb} ${paint(style, "bold", deploy.id)}: ${deploy.environment} ← ${short(deploy.sha)} (${deploy.status})  ${c.conn.url}/deploys/${encodeURIComponent(deploy.id)}`);
    if (o.follow) {
      deploy = await follow(c, deploy, minutes(o.timeout));
      report(c, deploy);
    } else if (flags().json) printJson({ deploy });
  };

  program
    .command("deploy")
    .description("deploy a commit to an environment (the admin API's path: POST /v1/environments/:env/rollback {sha})")
    .argument("<env>", "environment")
    .argument("<sha>", "full 40-character commit SHA")
    .option("-f, --follow", "follow until the verdict")
    .option("--timeout <minutes>", "stop following after this long", String(DEFAULT_FOLLOW_MINUTES))
    .option("--force", "deploy even though the environment is locked (the admin path passes a lock)")
    .action(async (env: string, sha: string, o: { follow?: boolean; timeout: string; force?: boolean }) => {
      requireSha(sha);
      const c = api();
      // The admin path passes a lock (it exists to restore production); a plain deploy should not
      // slip past one unnoticed, so the CLI asks first.
      const status = await c.call<{ environments: EnvironmentStatusWire[] }>("GET", "/v1/status", { auth: false });
      const e = status.environments.find((x) => x.name === env);
      if (e?.lock && !o.force) throw new CliError(`${env} is locked (${e.lock.reason ?? "no reason"}): unlock it first with \`deploy-coordinator unlock ${env}\`, or pass --force`, EXIT.refused, "environment_locked");
      await submitAndReport(c, env, { sha }, o, "deploy");
    });

  program
    .command("rollback")
    .description("deploy the last verified release (or the given SHA); passes a lock")
    .argument("<env>", "environment")
    .argument("[sha]", "full 40-character commit SHA (default: the last verified one)")
    .option("-f, --follow", "follow until the verdict")
    .option("--timeout <minutes>", "stop following after this long", String(DEFAULT_FOLLOW_MINUTES))
    .action(async (env: string, sha: string | undefined, o: { follow?: boolean; timeout: string }) => {
      if (sha !== undefined) requireSha(sha);
      await submitAndReport(api(), env, sha === undefined ? {} : { sha }, o, "rollback");
    });

  program
    .command("lock")
    .description("refuse every deploy but a rollback until unlocked (locking again replaces the reason)")
    .argument("<env>", "environment")
    .argument("<reason...>", "why (shown to everyone who is refused)")
    .action(async (env: string, reason: string[]) => {
      const r = await api().call<{ environment: EnvironmentWire }>("POST", `/v1/environments/${encodeURIComponent(env)}/lock`, { body: { reason: reason.join(" ") } });
      if (flags().json) return printJson(r);
      say(`${r.environment.name} ${paint(style, "red", "locked")}: ${r.environment.lock?.reason ?? ""}`);
    });

  program
    .command("unlock")
    .description("accept deploys again")
    .argument("<env>", "environment")
    .action(async (env: string) => {
      const r = await api().call<{ environment: EnvironmentWire }>("DELETE", `/v1/environments/${encodeURIComponent(env)}/lock`);
      if (flags().json) return printJson(r);
      say(`${r.environment.name} ${paint(style, "green", "unlocked")}`);
    });

  program
    .command("cancel")
    .description("cancel a queued deploy (one already running goes on to its verdict)")
    .argument("<id>", "a deploy id")
    .action(async (id: string) => {
      const c = api();
      const r = await c.call<{ deploy: DeployWire }>("POST", `/v1/deploys/${encodeURIComponent(id)}/cancel`);
      if (flags().json) return printJson(r);
      say(`${r.deploy.id}: ${paint(style, statusPaint(r.deploy.status), r.deploy.status)}`);
    });

  program
    .command("keys")
    .description("a fresh Ed25519 key pair for agent calls: the Worker's AGENT_SIGNING_KEY and the agent's AGENT_COORDINATOR_PUBLIC_KEY")
    .action(async () => {
      const pair = await agentKeyPair();
      if (flags().json) return say(JSON.stringify(pair));
      say(`# 1. The Worker's secret (private half; nowhere else): npx wrangler secret put AGENT_SIGNING_KEY, then paste
${JSON.stringify(pair.private)}

# 2. The agent's public key, in /etc/deploy-coordinator/agent.env (one line):
AGENT_COORDINATOR_PUBLIC_KEY=${JSON.stringify(pair.public)}`);
    });

  program
    .command("lint")
    .description("the agent's pre-flight lint on a stack file, here or in CI (exit 1 on errors)")
    .requiredOption("-c, --compose-file <file>", "the stack file (docker-compose.prod.yml)")
    .option("--sha <sha>", "the SHA it will be deployed at (GIT_COMMIT; images must be tagged with it)")
    .option("--env-file <file>", "the agent's AGENT_ENV_FILE, for ${VAR} interpolation")
    .action(async (o: { composeFile: string; sha?: string; envFile?: string }) => {
      if (o.sha !== undefined) requireSha(o.sha);
      let findings;
      try {
        findings = await lintComposeFile(o.composeFile, { sha: o.sha, envFile: o.envFile, env: io.env });
      } catch (e) {
        if (e instanceof LintInputError) throw new CliError(`${e.message} (is -c a compose file?)`, EXIT.usage);
        throw e;
      }
      const errors = findings.filter((f) => f.level === "error").length;
      exit = hasErrors(findings) ? EXIT.notSucceeded : EXIT.ok;
      if (flags().json) return printJson({ findings, errors, warnings: findings.length - errors });
      for (const f of findings) say(`${paint(style, f.level === "error" ? "red" : "yellow", f.level.padEnd(7))} ${formatFinding(f).slice(f.level.length + 1)}`);
      say(`${o.composeFile}: ${errors} error${errors === 1 ? "" : "s"}, ${findings.length - errors} warning${findings.length - errors === 1 ? "" : "s"}`);
    });

  /** Follows with the action's loop; a progress line on a terminal, the loop's lines otherwise. */
  async function follow(c: Coordinator, deploy: DeployWire, timeoutMs: number): Promise<DeployWire> {
    const started = Date.now();
    const progress = Boolean(io.err.isTTY);
    let shown = false;
    const clear = () => {
      if (shown) io.err.write("\r\x1b[K");
      shown = false;
    };
    // Lines go to stdout in human mode; with --json, stdout carries only the final JSON.
    const log = (line: string) => {
      clear();
      const stamped = `${paint(errStyle, "dim", `[${new Date().toISOString().slice(11, 19)}]`)} ${line}`;
      if (flags().json) io.err.write(`${stamped}\n`);
      else say(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
    };
    const draw = (d: DeployWire) => {
      if (!progress || TERMINAL.has(d.status)) return;
      io.err.write(`\r\x1b[K${paint(errStyle, statusPaint(d.status), d.status)} · ${probeLine(d)} · ${Math.round((Date.now() - started) / 1000)} s`);
      shown = true;
    };
    const read = async (id: string, wait: number, timeout: number) => (await c.call<{ deploy: DeployWire }>("GET", `/v1/deploys/${encodeURIComponent(id)}?wait=${wait}`, { timeoutMs: timeout, attempts: 1 })).deploy;
    draw(deploy);
    const r = await followDeploy(deploy, { deadline: Date.now() + timeoutMs, read, log, onRead: draw, waitSeconds: num(io.env.DC_WAIT_SECONDS, 20), minPollMs: num(io.env.DC_MIN_POLL_MS, 1_000), retryBaseMs: num(io.env.DC_RETRY_BASE_MS, 2_000) });
    clear();
    if (r.timedOut) {
      if (flags().json) printJson({ deploy: r.deploy });
      throw new CliError(`still ${r.deploy.status} after ${timeoutMs / 60_000} minutes; the coordinator keeps going (follow again with \`deploy-coordinator show ${r.deploy.id} --follow\`)`, EXIT.pending);
    }
    return r.deploy;
  }

  /** Prints a deploy and sets the exit code: 0 only for succeeded, 4 while it has no verdict. */
  function report(c: Coordinator, d: DeployWire) {
    exit = d.status === "succeeded" ? EXIT.ok : TERMINAL.has(d.status) ? EXIT.notSucceeded : EXIT.pending;
    if (flags().json) return printJson({ deploy: d });
    say(describe(d, c.conn.url, style));
  }

  try {
    await program.parseAsync(argv);
    return exit;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const err = e instanceof CliError ? e : e instanceof TransientError ? new CliError(e.message, EXIT.refused) : new CliError(`unexpected error: ${(e as Error)?.stack ?? e}`, EXIT.refused);
    io.err.write(`${paint(errStyle, "red", "error:")} ${err.message}\n`);
    if (program.opts<GlobalFlags>().json) io.out.write(`${JSON.stringify({ error: { code: err.code ?? "cli", message: err.message } })}\n`);
    return err.exitCode;
  }
}

export function describe(d: DeployWire, base: string, s: Style): string {
  const rows: [string, string][] = [
    ["deploy", d.id],
    ["environment", d.environment],
    ["sha", d.sha],
    ["previous", d.previous_sha ?? "-"],
    ["status", paint(s, statusPaint(d.status), d.status)],
    ["trigger", `${d.trigger.source} by ${d.trigger.actor}`],
    ["created", when(d.created_at)],
    ["finished", when(d.finished_at)],
    ["reason", oneLine(d.reason)],
    ["probes", probes(d.probes)],
  ];
  if (d.rollback_sha) rows.push(["rolled back to", d.rollback_sha], ["rollback probes", probes(d.rollback_probes)]);
  rows.push(["page", `${base}/deploys/${encodeURIComponent(d.id)}`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${paint(s, "dim", k.padEnd(w))}  ${v}`);
  if (d.events?.length) {
    lines.push(paint(s, "dim", "events"));
    for (const e of d.events) lines.push(`  ${when(e.at).slice(11)}  ${e.kind === "mark" ? `mark ${(e.data as { mark?: string } | undefined)?.mark ?? ""}` : `${e.from ?? "∅"} → ${e.to}`}${e.reason && e.kind !== "mark" ? ` — ${oneLine(e.reason)}` : ""}`);
  }
  return lines.join("\n");
}

const oneLine = (s: string | null | undefined) => (s ? s.replace(/\s+/g, " ") : "-");

function requireSha(sha: string) {
  if (!SHA.test(sha)) throw new CliError(`sha must be the full 40-character commit SHA, got ${JSON.stringify(sha)}: use \`git rev-parse ${sha}\``, EXIT.usage);
}

function minutes(s: string): number {
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new CliError("--timeout must be a positive number of minutes", EXIT.usage);
  return n * 60_000;
}

function num(v: string | undefined, dflt: number): number {
  const n = Number(v ?? dflt);
  return Number.isFinite(n) && n >= 0 ? n : dflt;
}

function defaultActor(): string | undefined {
  try {
    const name = os.userInfo().username;
    return /^[\w.@+-]{1,64}$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

run(process.argv).then((code) => {
  process.exitCode = code;
});
