// /openapi.json against the real app: every route Hono serves is documented and every documented
// operation is served (walking the app's route table), and real answers — a CI deploy's 202, the
// reads, the admin calls, a 401 — validate against the schemas the document publishes.
import { SELF } from "cloudflare:test";
import { Validator } from "@cfworker/json-schema";
import { describe, expect, it } from "vitest";
import { ERROR_STATUS } from "../../../src/worker/errors";
import { app } from "../../../src/worker/index";
import { buildDocument } from "../../../src/worker/openapi/document";
import { BASE, api, postDeploy } from "../helpers/intake";
import { mintOidcToken } from "../helpers/oidc";

const SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
  components: Record<string, unknown>;
};

async function document(): Promise<{ res: Response; doc: Doc }> {
  const res = await SELF.fetch(`${BASE}/openapi.json`);
  return { res, doc: (await res.clone().json()) as Doc };
}

/** "GET /v1/deploys/{id}" for every handler in Hono's route table (middleware — method ALL — left out). */
function servedOperations(): Set<string> {
  const ops = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    const path = r.path.replace(/\/+$/, "") || "/";
    ops.add(`${r.method} ${path.replace(/:([A-Za-z_]\w*)/g, "{$1}")}`);
  }
  return ops;
}

function documentedOperations(doc: Doc): Set<string> {
  const ops = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) for (const method of Object.keys(item)) ops.add(`${method.toUpperCase()} ${path}`);
  return ops;
}

/** Validates a real answer against the schema the document gives for that operation and status. */
function conforms(doc: Doc, method: string, path: string, status: number, body: unknown) {
  const response = doc.paths[path]?.[method.toLowerCase()]?.responses[String(status)];
  if (!response) return { valid: false, errors: [`${method} ${path} documents no ${status}`] };
  const schema = response.content?.["application/json"]?.schema;
  if (!schema) return { valid: false, errors: [`${method} ${path} ${status} has no JSON schema`] };
  const r = new Validator({ ...(schema as object), components: doc.components } as never, "2020-12", false).validate(body);
  return { valid: r.valid, errors: r.errors.map((e) => `${e.instanceLocation}: ${e.error}`) };
}

describe("GET /openapi.json", () => {
  it("answers without authentication, cacheable, an OpenAPI 3.1 document", async () => {
    const { res, doc } = await document();
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toMatch(/^public, max-age=\d+/);
    expect(doc.openapi).toBe("3.1.0");
    // what the Node-side checks validate and generate a client from (test/node/cli/openapi-document.test.ts)
    expect(doc).toEqual(JSON.parse(JSON.stringify(buildDocument())));
  });

  it("documents every route the app serves, and serves every documented operation", async () => {
    const { doc } = await document();
    const served = servedOperations();
    const documented = documentedOperations(doc);
    expect(served.size).toBeGreaterThan(15);
    const undocumented = [...served].filter((o) => !documented.has(o));
    const notServed = [...documented].filter((o) => !served.has(o));
    expect(undocumented, "served but not in /openapi.json").toEqual([]);
    expect(notServed, "in /openapi.json but not served").toEqual([]);
  });

  it("names the security schemes of every door: OIDC, API token (bearer and cookie), webhook HMAC, Slack signature, monitors", async () => {
    const { doc } = await document();
    const schemes = Object.keys((doc.components as { securitySchemes: object }).securitySchemes);
    expect(schemes).toEqual(expect.arrayContaining(["githubOidc", "apiToken", "apiTokenCookie", "githubWebhook", "slackSignature", "monitorChecklySignature", "monitorGrafanaSignature", "monitorBearer", "monitorQueryToken"]));
    expect(doc.paths["/v1/deploys"].post.security).toEqual([{ githubOidc: [] }]);
    expect(doc.paths["/v1/status"].get.security).toEqual([]);
  });

  it("gives each error status exactly the error codes errors.ts maps to it", async () => {
    const { doc } = await document();
    let checked = 0;
    for (const item of Object.values(doc.paths))
      for (const op of Object.values(item))
        for (const [status, r] of Object.entries(op.responses)) {
          const schema = r.content?.["application/json"]?.schema as { properties?: { error?: { properties: { code: { enum: string[] } } } } } | undefined;
          const codes = schema?.properties?.error?.properties.code.enum;
          if (!codes) continue;
          expect(codes.sort()).toEqual(Object.entries(ERROR_STATUS).filter(([, s]) => String(s) === status).map(([c]) => c).sort());
          checked++;
        }
    expect(checked).toBeGreaterThan(30);
  });
});

describe("real answers validate against the published document", () => {
  it("a CI deploy's 202, then the same request's 200, and the deploy read with its events", async () => {
    const { doc } = await document();
    const token = await mintOidcToken({ sha: SHA, run_id: "915001" });
    const res = await postDeploy(token, { environment: "staging", sha: SHA });
    expect(res.status).toBe(202);
    const created = (await res.json()) as { deploy: { id: string } };
    expect(conforms(doc, "POST", "/v1/deploys", 202, created)).toEqual({ valid: true, errors: [] });

    const again = await postDeploy(await mintOidcToken({ sha: SHA, run_id: "915001" }), { environment: "staging", sha: SHA });
    expect(again.status).toBe(200);
    expect(conforms(doc, "POST", "/v1/deploys", 200, await again.json())).toEqual({ valid: true, errors: [] });

    const read = await api(`/v1/deploys/${created.deploy.id}`);
    const body = (await read.json()) as { deploy: { events?: unknown[] } };
    expect(body.deploy.events?.length).toBeGreaterThan(0);
    expect(conforms(doc, "GET", "/v1/deploys/{id}", 200, body)).toEqual({ valid: true, errors: [] });
    expect(conforms(doc, "GET", "/v1/deploys", 200, await (await api("/v1/deploys?environment=staging")).json())).toEqual({ valid: true, errors: [] });
  });

  it("a deploy answer with a field the document does not describe is refused (the check can fail)", async () => {
    const { doc } = await document();
    const res = await postDeploy(await mintOidcToken({ sha: SHA, run_id: "915002" }), { environment: "staging", sha: SHA });
    const body = (await res.json()) as { deploy: Record<string, unknown> };
    expect(conforms(doc, "POST", "/v1/deploys", res.status, { deploy: { ...body.deploy, status: "exploded" } }).valid).toBe(false);
    expect(conforms(doc, "POST", "/v1/deploys", res.status, { deploy: { ...body.deploy, undocumented: 1 } }).valid).toBe(false);
  });

  it("status, health, lock and unlock, and a 401 and a 404", async () => {
    const { doc } = await document();
    expect(conforms(doc, "GET", "/v1/status", 200, await (await SELF.fetch(`${BASE}/v1/status`)).json())).toEqual({ valid: true, errors: [] });
    expect(conforms(doc, "GET", "/healthz", 200, await (await SELF.fetch(`${BASE}/healthz`)).json())).toEqual({ valid: true, errors: [] });
    const locked = await api("/v1/environments/staging/lock", { method: "POST", body: JSON.stringify({ reason: "openapi test" }) });
    expect(conforms(doc, "POST", "/v1/environments/{env}/lock", 200, await locked.json())).toEqual({ valid: true, errors: [] });
    const unlocked = await api("/v1/environments/staging/lock", { method: "DELETE" });
    expect(conforms(doc, "DELETE", "/v1/environments/{env}/lock", 200, await unlocked.json())).toEqual({ valid: true, errors: [] });
    const refused = await api("/v1/deploys", { token: "wrong" });
    expect(refused.status).toBe(401);
    expect(conforms(doc, "GET", "/v1/deploys", 401, await refused.json())).toEqual({ valid: true, errors: [] });
    const missing = await api("/v1/deploys/d_nope");
    expect(conforms(doc, "GET", "/v1/deploys/{id}", 404, await missing.json())).toEqual({ valid: true, errors: [] });
  });
});

describe("GET /docs", () => {
  it("lists every documented operation on a page without scripts", async () => {
    const { doc } = await document();
    const res = await SELF.fetch(`${BASE}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const page = await res.text();
    expect(page).not.toContain("<script");
    for (const op of documentedOperations(doc)) expect(page).toContain(op);
  });
});
