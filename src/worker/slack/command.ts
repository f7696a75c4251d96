// The `/deploy` grammar: the text after the slash command → one tagged command, or an error that
// tells the user what would have worked. Pure; the configured environment names are an input, so
// "the environment may be left out when there is only one" is decided here.

export type SlackCommand =
  | { kind: "help" }
  /** environment undefined: every environment */
  | { kind: "status"; environment?: string }
  | { kind: "history"; environment?: string }
  | { kind: "deploy"; ref: string; environment: string }
  /** sha undefined: the environment's last verified release */
  | { kind: "rollback"; environment: string; sha?: string }
  | { kind: "lock"; environment: string; reason: string }
  | { kind: "unlock"; environment: string };

export type ParseResult = { ok: true; command: SlackCommand } | { ok: false; error: string };

/** Commands that change something: only SLACK_ALLOWED_USERS may run them. */
export type MutatingCommand = Extract<SlackCommand, { kind: "deploy" | "rollback" | "lock" | "unlock" }>;
export function isMutating(c: SlackCommand): c is MutatingCommand {
  return c.kind === "deploy" || c.kind === "rollback" || c.kind === "lock" || c.kind === "unlock";
}

/** 7–40 hex digits: a full or abbreviated commit SHA. */
export const SHA_LIKE = /^[0-9a-f]{7,40}$/i;
/** What a branch name or SHA may look like (git check-ref-format, simplified and stricter). */
const REF = /^(?!-)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._\/-]{1,200}(?<![./])$/;
const MAX_REASON = 500;

/** Slack escapes &, < and > in the command text; undo that so the text is what the user typed. */
export function unescapeSlack(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

export function parseCommand(text: string, environments: readonly string[]): ParseResult {
  const words = unescapeSlack(text).trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return ok({ kind: "help" });
  const [first, ...rest] = words;
  const keyword = first.toLowerCase();
  const envs = new Set(environments);
  const pickEnv = (given: string | undefined): { ok: true; env: string } | { ok: false; error: string } => {
    if (given !== undefined) {
      return envs.has(given) ? { ok: true, env: given } : { ok: false, error: `unknown environment \`${given}\` (known: ${list(environments)})` };
    }
    if (environments.length === 1) return { ok: true, env: environments[0] };
    return { ok: false, error: `which environment? name one of ${list(environments)}` };
  };

  switch (keyword) {
    case "help":
      return rest.length ? fail(`\`help\` takes nothing after it`) : ok({ kind: "help" });
    case "status":
    case "history": {
      if (rest.length > 1) return fail(`usage: \`/deploy ${keyword} [environment]\``);
      if (rest.length === 0) return ok({ kind: keyword, environment: environments.length === 1 ? environments[0] : undefined });
      const e = pickEnv(rest[0]);
      return e.ok ? ok({ kind: keyword, environment: e.env }) : fail(e.error);
    }
    case "unlock": {
      if (rest.length > 1) return fail("usage: `/deploy unlock [environment]`");
      const e = pickEnv(rest[0]);
      return e.ok ? ok({ kind: "unlock", environment: e.env }) : fail(e.error);
    }
    case "lock": {
      // `lock <env> <reason>`, or `lock <reason>` with one environment
      const named = rest.length > 0 && envs.has(rest[0]);
      const e = pickEnv(named ? rest[0] : undefined);
      if (!e.ok) return fail(`${e.error}: \`/deploy lock <environment> <reason>\``);
      const reason = (named ? rest.slice(1) : rest).join(" ");
      if (!reason) return fail("a lock needs a reason: `/deploy lock [environment] <reason>`");
      if (reason.length > MAX_REASON) return fail(`the reason is too long (at most ${MAX_REASON} characters)`);
      return ok({ kind: "lock", environment: e.env, reason });
    }
    case "rollback": {
      if (rest.length > 2) return fail("usage: `/deploy rollback [environment] [sha]`");
      let env: string | undefined;
      let sha: string | undefined;
      for (const w of rest) {
        if (envs.has(w) && env === undefined) env = w;
        else if (SHA_LIKE.test(w) && sha === undefined) sha = w.toLowerCase();
        else return fail(`\`${w}\` is neither an environment (${list(environments)}) nor a commit SHA`);
      }
      const e = pickEnv(env);
      return e.ok ? ok({ kind: "rollback", environment: e.env, ...(sha ? { sha } : {}) }) : fail(`${e.error}: \`/deploy rollback <environment> [sha]\``);
    }
    default: {
      if (rest.length > 1) return fail("usage: `/deploy <sha | branch> [environment]` (see `/deploy help`)");
      if (!REF.test(first)) return fail(`\`${first}\` is not a commit SHA or branch name (see \`/deploy help\`)`);
      const e = pickEnv(rest[0]);
      return e.ok ? ok({ kind: "deploy", ref: first, environment: e.env }) : fail(`${e.error}: \`/deploy ${first} <environment>\``);
    }
  }
}

const ok = (command: SlackCommand): ParseResult => ({ ok: true, command });
const fail = (error: string): ParseResult => ({ ok: false, error });
const list = (names: readonly string[]) => names.map((n) => `\`${n}\``).join(", ");
