// Every lint rule as a table: input YAML → the findings of that rule (at least one finding and
// one clean case each). Messages must name the service and the fix; the rule travels beside them.
import { describe, expect, test } from "vitest";
import { RULE_LEVELS, lintStack } from "../../../../src/agent/lint";
import { SHA, findingsOf, oneService } from "./helpers";

type Row = {
  rule: keyof typeof RULE_LEVELS;
  name: string;
  yaml: string;
  envFiles?: Record<string, string | null>;
  agentEnv?: string;
  sha?: string | undefined;
  /** One entry per expected finding: the service and fragments its message must contain. */
  expected: { service: string; says: string[] }[];
};

const start = "deploy:\n  update_config:\n    order: start-first";
const hc = "healthcheck:\n  test: [CMD, wget, -q, http://127.0.0.1/health]\n  interval: 2s\n  retries: 3";
const routed = (extra = "") =>
  `deploy:\n  labels:\n    - traefik.enable=true\n    - traefik.http.routers.api.rule=Host(\`api.example.org\`)\n${extra}`;

const rows: Row[] = [
  // build-directive
  { rule: "build-directive", name: "build: next to image:", yaml: oneService(`build: .\nimage: x/gw:\${GIT_COMMIT}`), expected: [{ service: "gateway", says: ["gateway: has build:", "ignores", "build and push the image in CI"] }] },
  { rule: "build-directive", name: "an image only", yaml: oneService(`image: x/gw:\${GIT_COMMIT}`), expected: [] },

  // image-not-pinned
  { rule: "image-not-pinned", name: "a 7-character short SHA", yaml: oneService("image: ghcr.io/yapit-tts/gateway:3f2a1b9"), expected: [{ service: "gateway", says: ["gateway: image ghcr.io/yapit-tts/gateway:3f2a1b9 is not pinned to the deployed SHA 3f2a1b9c…", "type=sha,format=long"] }] },
  { rule: "image-not-pinned", name: ":latest of an image in the stack's own namespace", yaml: `services:\n  api:\n    image: ghcr.io/y/api:\${GIT_COMMIT}\n  web:\n    image: ghcr.io/y/web:latest\n`, expected: [{ service: "web", says: [":latest", "never re-pulls", "3f2a1b9c…"] }] },
  { rule: "image-not-pinned", name: "no tag in the stack's own namespace", yaml: `services:\n  api:\n    image: ghcr.io/y/api:\${GIT_COMMIT}\n  web:\n    image: ghcr.io/y/web\n`, expected: [{ service: "web", says: ["has no tag"] }] },
  { rule: "image-not-pinned", name: "GIT_COMMIT with a default that wins when it is another variable", yaml: oneService("image: x/gw:${TAG:-${GIT_COMMIT}}"), agentEnv: "TAG=main\n", expected: [{ service: "gateway", says: ["x/gw:main is not pinned"] }] },
  { rule: "image-not-pinned", name: "the full deployed SHA", yaml: oneService("image: ghcr.io/yapit-tts/gateway:${GIT_COMMIT}"), expected: [] },
  { rule: "image-not-pinned", name: "third-party images, a digest, and a sibling with its own fixed tag", yaml: `services:\n  api:\n    image: lab/app:\${GIT_COMMIT}\n  proxy:\n    image: lab/proxy:local\n  traefik:\n    image: traefik:v3.3\n  db:\n    image: postgres@sha256:${"a".repeat(64)}\n`, expected: [] },
  { rule: "image-not-pinned", name: "without --sha any full SHA counts", sha: undefined, yaml: oneService(`image: x/gw:\${GIT_COMMIT}`), expected: [] },

  // unset-variable
  { rule: "unset-variable", name: "${VAR} with no value and no default", yaml: oneService("image: x/gw:${GIT_COMMIT}\nenvironment:\n  SENTRY_DSN: ${SENTRY_DSN}"), expected: [{ service: "gateway", says: ["${SENTRY_DSN} has no value and no default", "AGENT_ENV_FILE"] }] },
  { rule: "unset-variable", name: "${VAR:?message} unset", yaml: oneService("image: x/gw:${GIT_COMMIT}\nenvironment:\n  DB: ${DB_URL:?set the database}"), expected: [{ service: "gateway", says: ["DB_URL is required (set the database)"] }] },
  { rule: "unset-variable", name: "bash substring syntax compose does not have", yaml: oneService("image: x/gw:${GIT_COMMIT:0:7}"), expected: [{ service: "gateway", says: ["${GIT_COMMIT:0:7} is not compose interpolation syntax"] }] },
  { rule: "unset-variable", name: "an unset variable in a network's name names the network", yaml: `services:\n  gw:\n    image: x/gw:\${GIT_COMMIT}\nnetworks:\n  public:\n    name: \${NET}\n`, expected: [{ service: "networks.public", says: ["${NET} has no value"] }] },
  { rule: "unset-variable", name: "defaults, $$ escapes, values from the agent's env file", yaml: oneService("image: x/gw:${GIT_COMMIT}\nenvironment:\n  A: ${A:-one}\n  B: $${NOT_A_VAR}\n  C: ${SECRET}\n  D: ${E-}"), agentEnv: "SECRET=from-the-vps\n", expected: [] },

  // env-file-quoted-value
  { rule: "env-file-quoted-value", name: "a double-quoted value", yaml: oneService("image: x/gw:${GIT_COMMIT}\nenv_file: .env"), envFiles: { ".env": 'A=1\nTOKEN="abc def"\n' }, expected: [{ service: "gateway", says: [".env line 2", "TOKEN is wrapped in quotes", "passes literally", "TOKEN=value without quotes"] }] },
  { rule: "env-file-quoted-value", name: "a single-quoted value", yaml: oneService("image: x/gw:${GIT_COMMIT}\nenv_file: [a.env]"), envFiles: { "a.env": "PASSWORD='x'\n" }, expected: [{ service: "gateway", says: ["a.env line 1", "PASSWORD is wrapped in quotes"] }] },
  { rule: "env-file-quoted-value", name: "quotes in the agent's env file, which the agent's dotenv reader strips", yaml: oneService("image: x/gw:${GIT_COMMIT}\nenvironment:\n  P: ${PASSWORD}"), agentEnv: "PASSWORD='x y'\n", expected: [] },
  { rule: "env-file-quoted-value", name: "plain values, a quote inside a value, comments", yaml: oneService("image: x/gw:${GIT_COMMIT}\nenv_file: [a.env]"), envFiles: { "a.env": '# "quoted" comment\nA=it\'s fine\nB=x"y"\n' }, expected: [] },

  // env-file-interpolation
  { rule: "env-file-interpolation", name: "${…} in an env_file value", yaml: oneService("image: x/gw:${GIT_COMMIT}\nenv_file:\n  - path: app.env\n    required: true"), envFiles: { "app.env": "URL=postgres://u:${PG_PASS}@db/x\n" }, expected: [{ service: "gateway", says: ["app.env line 1", "contains ${PG_PASS}", "never expanded"] }] },
  { rule: "env-file-interpolation", name: "${…} in the agent's env file (dotenv does not expand either)", yaml: oneService("image: x/gw:${GIT_COMMIT}"), agentEnv: "URL=postgres://${USER}@db\n", expected: [{ service: "AGENT_ENV_FILE", says: ["/etc/agent/app.env line 1", "contains ${USER}"] }] },
  { rule: "env-file-interpolation", name: "a literal dollar in a password", yaml: oneService("image: x/gw:${GIT_COMMIT}\nenv_file: app.env"), envFiles: { "app.env": "PASS=pa$word\n" }, expected: [] },

  // labels-outside-deploy
  { rule: "labels-outside-deploy", name: "traefik labels as a list under labels:", yaml: oneService("image: x/gw:${GIT_COMMIT}\nlabels:\n  - traefik.enable=true\n  - com.example.team=web"), expected: [{ service: "gateway", says: ["traefik.enable", "never reads", "move them under deploy.labels"] }] },
  { rule: "labels-outside-deploy", name: "traefik labels as a mapping under labels:", yaml: oneService("image: x/gw:${GIT_COMMIT}\nlabels:\n  traefik.http.routers.a.rule: Host(`a`)"), expected: [{ service: "gateway", says: ["traefik.http.routers.a.rule"] }] },
  { rule: "labels-outside-deploy", name: "traefik labels under deploy.labels, other labels outside", yaml: oneService("image: x/gw:${GIT_COMMIT}\nlabels: [com.example.team=web]\n" + routed()), expected: [] },

  // container-name
  { rule: "container-name", name: "container_name", yaml: oneService("image: x/gw:${GIT_COMMIT}\ncontainer_name: gateway"), expected: [{ service: "gateway", says: ["container_name: gateway is not supported by stack mode", "remove it"] }] },
  { rule: "container-name", name: "no container_name", yaml: oneService("image: x/gw:${GIT_COMMIT}"), expected: [] },

  // stop-first-routed
  { rule: "stop-first-routed", name: "routed by Traefik with Swarm's default order", yaml: oneService("image: x/gw:${GIT_COMMIT}\n" + routed()), expected: [{ service: "gateway", says: ["routed by Traefik but updated stop-first (Swarm's default)", "502", "order: start-first"] }] },
  { rule: "stop-first-routed", name: "an ingress-published port, stop-first", yaml: oneService('image: x/gw:${GIT_COMMIT}\nports: ["8080:80"]\ndeploy:\n  update_config:\n    order: stop-first'), expected: [{ service: "gateway", says: ["published on the ingress network but updated stop-first:"] }] },
  { rule: "stop-first-routed", name: "routed and start-first; a host-mode proxy that must be stop-first", yaml: `services:\n  gw:\n    image: x/gw:\${GIT_COMMIT}\n    ${routed("  update_config:\n    order: start-first").split("\n").join("\n    ")}\n  proxy:\n    image: traefik:v3.3\n    ports:\n      - { target: 80, published: 80, mode: host }\n`, expected: [] },

  // no-healthcheck
  { rule: "no-healthcheck", name: "start-first without a healthcheck", yaml: oneService("image: x/gw:${GIT_COMMIT}\n" + start), expected: [{ service: "gateway", says: ["start-first without a healthcheck", "add healthcheck:"] }] },
  { rule: "no-healthcheck", name: "start-first with the healthcheck disabled", yaml: oneService("image: x/gw:${GIT_COMMIT}\nhealthcheck:\n  disable: true\n" + start), expected: [{ service: "gateway", says: ["without a healthcheck"] }] },
  { rule: "no-healthcheck", name: "start-first with a healthcheck; stop-first without one", yaml: `services:\n  a:\n    image: x/a:\${GIT_COMMIT}\n${(hc + "\n" + start).split("\n").map((l) => "    " + l).join("\n")}\n  b:\n    image: x/b:\${GIT_COMMIT}\n`, expected: [] },

  // slow-healthcheck
  { rule: "slow-healthcheck", name: "compose's default 30s × 3", yaml: oneService("image: x/gw:${GIT_COMMIT}\nhealthcheck:\n  test: [CMD, true]"), expected: [{ service: "gateway", says: ["interval 30s × retries 3 = 90s > 30s", "interval × retries ≤ 30s"] }] },
  { rule: "slow-healthcheck", name: "1m30s × 2 plus a start period states the whole figure", yaml: oneService("image: x/gw:${GIT_COMMIT}\nhealthcheck:\n  test: [CMD, true]\n  interval: 1m30s\n  retries: 2\n  start_period: 15s"), expected: [{ service: "gateway", says: ["interval 90s × retries 2 = 180s + start_period 15s = 195s"] }] },
  { rule: "slow-healthcheck", name: "5s × 3 with a long start period", yaml: oneService("image: x/gw:${GIT_COMMIT}\nhealthcheck:\n  test: [CMD, true]\n  interval: 5s\n  retries: 3\n  start_period: 20s"), expected: [] },

  // traefik-task-routing
  { rule: "traefik-task-routing", name: "Traefik-routed without lbswarm", yaml: oneService("image: x/gw:${GIT_COMMIT}\n" + routed()), expected: [{ service: "gateway", says: ["routes to task IPs", "traefik.swarm.lbswarm=true"] }] },
  { rule: "traefik-task-routing", name: "lbswarm set (v3 and v2 spellings); traefik.enable=false", yaml: `services:\n  a:\n    image: x/a:\${GIT_COMMIT}\n    deploy:\n      labels: [traefik.enable=true, traefik.swarm.lbswarm=true]\n  b:\n    image: x/b:\${GIT_COMMIT}\n    deploy:\n      labels: {traefik.enable: "true", traefik.docker.lbswarm: "true"}\n  c:\n    image: x/c:\${GIT_COMMIT}\n    deploy:\n      labels: [traefik.enable=false, traefik.http.routers.c.rule=Host(\`c\`)]\n`, expected: [] },

  // stateful-start-first
  { rule: "stateful-start-first", name: "a named volume, start-first", yaml: oneService("image: x/db:${GIT_COMMIT}\nvolumes:\n  - pgdata:/var/lib/postgresql/data\n" + hc + "\n" + start, "db"), expected: [{ service: "db", says: ["named volume pgdata", "two tasks use it at once", "stop-first"] }] },
  { rule: "stateful-start-first", name: "long syntax volume, start-first", yaml: oneService("image: x/db:${GIT_COMMIT}\nvolumes:\n  - type: volume\n    source: data\n    target: /data\n" + start, "db"), expected: [{ service: "db", says: ["named volume data"] }] },
  { rule: "stateful-start-first", name: "bind mounts start-first; a named volume stop-first", yaml: `services:\n  a:\n    image: x/a:\${GIT_COMMIT}\n    volumes: ["./conf:/etc/conf:ro", "/var/run/docker.sock:/var/run/docker.sock"]\n    deploy: {update_config: {order: start-first}}\n  db:\n    image: postgres:16\n    volumes: ["pgdata:/var/lib/postgresql/data"]\n`, expected: [] },
];

describe("lint rules", () => {
  test("every rule has a table row with a finding and a clean one", () => {
    for (const rule of Object.keys(RULE_LEVELS)) {
      const mine = rows.filter((r) => r.rule === rule);
      expect(mine.some((r) => r.expected.length > 0), `${rule} has a finding row`).toBe(true);
      expect(mine.some((r) => r.expected.length === 0), `${rule} has a clean row`).toBe(true);
    }
  });

  test.each(rows.map((r) => [r.rule, r.name, r] as const))("%s: %s", (rule, _name, row) => {
    const found = findingsOf(rule, row.yaml, {
      ...("sha" in row ? { sha: row.sha } : {}),
      envFiles: row.envFiles,
      agentEnvFile: row.agentEnv ? { path: "/etc/agent/app.env", text: row.agentEnv } : null,
    });
    expect(found.map((f) => ({ service: f.service, level: f.level }))).toEqual(row.expected.map((e) => ({ service: e.service, level: RULE_LEVELS[rule] })));
    found.forEach((f, i) => {
      expect(f.message.startsWith(`${f.service}: `)).toBe(true);
      for (const s of row.expected[i].says) expect(f.message).toContain(s);
    });
  });
});

describe("lintStack", () => {
  test("the example stack users copy from deploy/examples has no errors", async () => {
    const { readFile } = await import("node:fs/promises");
    const text = await readFile(new URL("../../../../deploy/examples/compose.yml", import.meta.url), "utf8");
    const findings = lintStack(text, { sha: SHA });
    expect(findings.filter((f) => f.level === "error")).toEqual([]);
  });

  test("the lab's stack has no errors", async () => {
    const { readFile } = await import("node:fs/promises");
    const text = await readFile(new URL("../../../../lab/compose.yml", import.meta.url), "utf8");
    expect(lintStack(text, { sha: SHA }).filter((f) => f.level === "error")).toEqual([]);
  });

  test("anchors and merge keys are resolved before the rules look (a parser, not a line reader)", () => {
    const yaml = `x-common: &common\n  container_name: fixed\n  image: x/gw:\${GIT_COMMIT}\nservices:\n  a:\n    <<: *common\n`;
    expect(lintStack(yaml, { sha: SHA }).map((f) => [f.rule, f.service])).toEqual([["container-name", "a"]]);
  });

  test.each([
    ["services: [a, b]", /no `services:` mapping/],
    ["services:\n  a: {image: x\n", /not valid YAML/],
  ])("refuses what is not a stack: %j", (yaml, error) => {
    expect(() => lintStack(yaml, { sha: SHA })).toThrow(error);
  });
});
