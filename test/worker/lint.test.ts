// The agent's pre-flight lint findings on the Worker's side (issue 10): kept as a `lint` mark on the
// deploy, shown on the deploy page and the API, and in Slack's verdict message.
import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { LintFinding } from "../../src/protocol/agent";
import { loadConfig } from "../../src/worker/config";
import { notifyDeploy } from "../../src/worker/slack/notify";
import { getDeploy } from "../../src/worker/store/deploys";
import { lintFindingsOf, lintMarkOf } from "../../src/worker/store/lint";
import { markStmt } from "../../src/worker/store/marks";
import { insertDeploy, messageText, received, responseUrl, uniqueSha } from "./slack/helpers";
import { deploy, drive, events, newSha, scriptAgent, scriptProbe, seedVerified, submit } from "./rollout/helpers";

const HOSTILE = "<script>alert(1)</script>";
const FINDINGS: LintFinding[] = [
  { rule: "no-healthcheck", level: "warning", service: "worker", message: `worker: is updated start-first without a healthcheck ${HOSTILE}` },
  { rule: "slow-healthcheck", level: "warning", service: "api", message: "api: healthcheck interval 30s × retries 3 = 90s > 30s" },
];

describe("lint findings reported by the agent", () => {
  it("are kept as one lint mark, served by the API and shown (escaped) on the deploy page", async () => {
    const name = "ro-lint";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, { running_sha_before: old, ops: { "*": { outcome: "converged", after_ms: 200, lint: FINDINGS } } });
    const id = await submit(name, sha);
    const d = await drive(name, id);
    expect(d.status).toBe("succeeded");

    const marks = (await events(id)).filter((e) => e.kind === "mark" && e.data?.includes('"mark":"lint"'));
    expect(marks).toHaveLength(1);
    expect(marks[0].reason).toBe("pre-flight lint: 2 warnings");
    expect(lintFindingsOf(marks)).toEqual(FINDINGS);

    const bearer = { authorization: `Bearer ${env.API_TOKEN}` };
    const api = (await (await SELF.fetch(`http://127.0.0.1:8787/v1/deploys/${id}`, { headers: bearer })).json()) as { deploy: { events: { data?: { mark?: string; findings?: unknown } }[] } };
    expect(api.deploy.events.find((e) => e.data?.mark === "lint")?.data?.findings).toEqual(FINDINGS);

    const page = await (await SELF.fetch(`http://127.0.0.1:8787/deploys/${id}`, { headers: bearer, redirect: "manual" })).text();
    expect(page).toContain("<h2>Pre-flight lint (2 warnings)</h2>");
    expect(page).toContain('data-rule="no-healthcheck"');
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page).not.toContain(HOSTILE);
  });

  it("an operation without lint (an older agent) leaves no lint mark", async () => {
    const d = await deploy(await submitAndDrive());
    expect(d.status).toBe("succeeded");
    expect((await events(d.id)).some((e) => e.data?.includes('"mark":"lint"'))).toBe(false);
  });
});

async function submitAndDrive(): Promise<string> {
  const name = "ro-lint";
  const [old, sha] = [newSha(), newSha()];
  await seedVerified(name, old);
  await scriptProbe(name, { version: old });
  await scriptAgent(name, { running_sha_before: old, ops: { "*": { outcome: "converged", after_ms: 200 } } });
  const id = await submit(name, sha);
  await drive(name, id);
  return id;
}

describe("Slack's verdict message", () => {
  const config = () => loadConfig(env as unknown as Record<string, unknown>);
  async function verdictWith(lint: LintFinding[] | null) {
    const url = responseUrl();
    const id = await insertDeploy({ environment: "slack-notify", status: "succeeded", sha: uniqueSha("11a7"), notify_url: url });
    const mark = lint && lintMarkOf({ id: "op_1", lint });
    if (mark) await markStmt(env.DB, { deploy_id: id, at: Date.now(), status: "verifying", ...mark }).run();
    await notifyDeploy(config(), env.DB, (await getDeploy(env.DB, id))!);
    const [msg] = await received(url);
    return messageText(msg);
  }

  it("lists the deploy's lint findings with their rule after the reason", async () => {
    const text = await verdictWith(FINDINGS);
    expect(text).toContain("*Lint:* 0 errors, 2 warnings");
    expect(text).toContain("`no-healthcheck` worker: is updated start-first");
    expect(text).toContain("&lt;script&gt;");
    expect(text).not.toContain(HOSTILE);
  });

  it("has no lint block when the agent reported none", async () => {
    expect(await verdictWith(null)).not.toContain("Lint");
  });
});
