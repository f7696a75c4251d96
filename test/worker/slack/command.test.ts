// The `/deploy` grammar, as a table: what people type → the command, or a helpful error.
import { describe, expect, it } from "vitest";
import { type SlackCommand, isMutating, parseCommand } from "../../../src/worker/slack/command";

const ONE = ["production"];
const TWO = ["production", "staging"];
const SHA = "0123456789abcdef0123456789abcdef01234567";

describe("parseCommand: accepted text", () => {
  it.each<[string, readonly string[], SlackCommand]>([
    ["", TWO, { kind: "help" }],
    ["   ", TWO, { kind: "help" }],
    ["help", TWO, { kind: "help" }],
    ["HELP", TWO, { kind: "help" }],
    ["status", ONE, { kind: "status", environment: "production" }],
    ["status", TWO, { kind: "status" }],
    ["status staging", TWO, { kind: "status", environment: "staging" }],
    ["history", ONE, { kind: "history", environment: "production" }],
    ["history", TWO, { kind: "history" }],
    ["history production", TWO, { kind: "history", environment: "production" }],
    ["main", ONE, { kind: "deploy", ref: "main", environment: "production" }],
    ["main staging", TWO, { kind: "deploy", ref: "main", environment: "staging" }],
    ["  feature/login-v2   production ", TWO, { kind: "deploy", ref: "feature/login-v2", environment: "production" }],
    ["abc1234", ONE, { kind: "deploy", ref: "abc1234", environment: "production" }],
    [`${SHA} staging`, TWO, { kind: "deploy", ref: SHA, environment: "staging" }],
    ["rollback", ONE, { kind: "rollback", environment: "production" }],
    ["rollback staging", TWO, { kind: "rollback", environment: "staging" }],
    ["rollback staging ABC1234", TWO, { kind: "rollback", environment: "staging", sha: "abc1234" }],
    ["rollback abc1234 staging", TWO, { kind: "rollback", environment: "staging", sha: "abc1234" }],
    [`rollback ${SHA}`, ONE, { kind: "rollback", environment: "production", sha: SHA }],
    ["lock db migration running", ONE, { kind: "lock", environment: "production", reason: "db migration running" }],
    ["lock staging db migration &amp; backfill", TWO, { kind: "lock", environment: "staging", reason: "db migration & backfill" }],
    ["unlock", ONE, { kind: "unlock", environment: "production" }],
    ["unlock staging", TWO, { kind: "unlock", environment: "staging" }],
  ])("%j with %j", (text, envs, command) => {
    expect(parseCommand(text, envs)).toEqual({ ok: true, command });
  });
});

describe("parseCommand: refused text, with an error that says what would work", () => {
  it.each<[string, readonly string[], RegExp]>([
    ["main", TWO, /which environment\? name one of `production`, `staging`/],
    ["main qa", TWO, /unknown environment `qa` \(known: `production`, `staging`\)/],
    ["main production extra words", TWO, /usage: `\/deploy <sha \| branch> \[environment\]`/],
    ["-rf production", TWO, /`-rf` is not a commit SHA or branch name/],
    ["a..b production", TWO, /not a commit SHA or branch name/],
    ["status qa", TWO, /unknown environment `qa`/],
    ["status production now", TWO, /usage: `\/deploy status \[environment\]`/],
    ["rollback", TWO, /which environment\?.*\/deploy rollback <environment> \[sha\]/],
    ["rollback production not-a-sha", TWO, /`not-a-sha` is neither an environment .* nor a commit SHA/],
    ["rollback production abc1234 def5678", TWO, /usage: `\/deploy rollback/],
    ["lock production", TWO, /a lock needs a reason/],
    ["lock", ONE, /a lock needs a reason/],
    ["lock freeze for the demo", TWO, /which environment\?.*\/deploy lock <environment> <reason>/],
    [`lock production ${"x".repeat(501)}`, TWO, /too long/],
    ["unlock", TWO, /which environment\?/],
    ["unlock production now", TWO, /usage: `\/deploy unlock \[environment\]`/],
    ["help me", TWO, /`help` takes nothing after it/],
  ])("%j with %j", (text, envs, error) => {
    const r = parseCommand(text, envs);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(error);
  });
});

describe("isMutating", () => {
  it.each<[SlackCommand, boolean]>([
    [{ kind: "help" }, false],
    [{ kind: "status" }, false],
    [{ kind: "history", environment: "production" }, false],
    [{ kind: "deploy", ref: "main", environment: "production" }, true],
    [{ kind: "rollback", environment: "production" }, true],
    [{ kind: "lock", environment: "production", reason: "x" }, true],
    [{ kind: "unlock", environment: "production" }, true],
  ])("%j → %s", (c, expected) => expect(isMutating(c)).toBe(expected));
});
