// GitHub Deployments mirror the verdict and never decide it.
import { describe, expect, it } from "vitest";
import { deploy, drain, drive, githubRequests, newSha, scriptAgent, scriptProbe, seedVerified, servers, submit } from "./helpers";

const REPO = "/repos/acme/app";

describe("GitHub Deployments", () => {
  it("creates a Deployment for the SHA and posts queued → in_progress → success with the deploy page and first probe URL", async () => {
    const name = "ro-github";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, { running_sha_before: old, ops: { "*": { outcome: "converged", after_ms: 200 } } });
    const id = await submit(name, sha);
    expect((await drive(name, id)).status).toBe("succeeded");
    await drain(name);
    const d = await deploy(id);
    expect(d.github_deployment_id).not.toBeNull();
    const reqs = await githubRequests();
    const created = reqs.filter((r) => r.method === "POST" && r.path === `${REPO}/deployments` && r.body.ref === sha);
    expect(created).toHaveLength(1);
    expect(created[0].body).toMatchObject({ ref: sha, environment: `gh-${name}`, auto_merge: false, required_contexts: [] });
    const statuses = reqs.filter((r) => r.path === `${REPO}/deployments/${d.github_deployment_id}/statuses`);
    expect(statuses.map((s) => s.body.state)).toEqual(["queued", "in_progress", "success"]);
    expect(statuses[2].body).toMatchObject({ log_url: `http://127.0.0.1:8787/deploys/${id}`, environment_url: `${servers().probe.url}/p/${name}/health` });
  });

  it("never blocks the verdict when GitHub answers 500", async () => {
    const name = "ro-github-down";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, { running_sha_before: old, ops: { "*": { outcome: "converged", after_ms: 200 } } });
    const script = await fetch(`${servers().github.url}/__script`, {
      method: "POST",
      body: JSON.stringify({ method: "POST", path: `${REPO}/deployments`, status: 500, body: { message: "Server Error" }, times: 100, body_includes: sha }),
    });
    expect(script.status).toBe(204);
    const id = await submit(name, sha);
    const d = await drive(name, id);
    expect(d.status).toBe("succeeded");
    expect(d.github_deployment_id).toBeNull();
    const attempts = (await githubRequests()).filter((r) => r.method === "POST" && r.path === `${REPO}/deployments` && r.body.ref === sha);
    expect(attempts.length).toBeGreaterThanOrEqual(1);
  });
});
