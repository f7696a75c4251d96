// The stack-mode mistakes, one small pure function each over the rendered stack. Every message
// names the service, what was found and the fix; the rule id travels beside it in the finding.
import type { LintFinding } from "../../protocol/agent";
import type { RenderedService, RenderedStack } from "./render";

/** The fixed rule ids (DESIGN "A release is its images and its configuration") and their levels. */
export const RULE_LEVELS = {
  "build-directive": "error",
  "image-not-pinned": "error",
  "unset-variable": "error",
  "env-file-quoted-value": "error",
  "env-file-interpolation": "error",
  "labels-outside-deploy": "error",
  "container-name": "error",
  "stop-first-routed": "warning",
  "no-healthcheck": "warning",
  "slow-healthcheck": "warning",
  "traefik-task-routing": "warning",
  "stateful-start-first": "warning",
} as const;
export type RuleId = keyof typeof RULE_LEVELS;

/**
 * Above this many seconds of interval × retries a task Swarm should replace keeps serving: a broken
 * release is judged unhealthy (and a rollback's new tasks healthy) only after that long.
 */
export const SLOW_HEALTHCHECK_LIMIT_S = 30;
/** Compose's healthcheck defaults, used when a field is left out. */
export const HEALTHCHECK_DEFAULTS = { intervalS: 30, retries: 3, startPeriodS: 0 } as const;

export type Rule = (stack: RenderedStack) => LintFinding[];

const finding = (rule: RuleId, service: string, message: string): LintFinding => ({ rule, level: RULE_LEVELS[rule], service, message });
const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
const perService = (rule: (s: RenderedService, stack: RenderedStack) => LintFinding[]): Rule => (stack) =>
  stack.services.flatMap((s) => rule(s, stack));

// ── small readers of compose values ─────────────────────────────────────────────────────────────

/** Labels as a map, from either the mapping or the `key=value` list form. */
export function labelsOf(v: unknown): Record<string, string> {
  if (Array.isArray(v)) {
    const out: Record<string, string> = {};
    for (const e of v) {
      if (typeof e !== "string") continue;
      const eq = e.indexOf("=");
      out[eq < 0 ? e : e.slice(0, eq)] = eq < 0 ? "" : e.slice(eq + 1);
    }
    return out;
  }
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x ?? "")]));
  return {};
}

const deployOf = (s: RenderedService) => (isRecord(s.spec.deploy) ? s.spec.deploy : {});
const deployLabels = (s: RenderedService) => labelsOf(deployOf(s).labels);
/** Swarm's default update order is stop-first. */
export const updateOrder = (s: RenderedService): string => {
  const u = deployOf(s).update_config;
  return isRecord(u) && typeof u.order === "string" ? u.order : "stop-first";
};
const truthy = (v: string | undefined) => v !== undefined && /^(true|1|yes)$/i.test(v.trim());

/** Traefik routes to it: enabled, or a router is declared, in the labels Traefik's Swarm provider reads. */
function traefikRouted(s: RenderedService): boolean {
  const labels = deployLabels(s);
  if ("traefik.enable" in labels) return truthy(labels["traefik.enable"]);
  return Object.keys(labels).some((k) => /^traefik\.(http|tcp|udp)\.routers\./.test(k));
}

/** Published through the ingress mesh (host-mode ports cannot run two tasks on one node anyway). */
function publishesIngress(s: RenderedService): boolean {
  const ports = Array.isArray(s.spec.ports) ? s.spec.ports : [];
  return ports.some((p) => (isRecord(p) ? (p.published !== undefined && p.mode !== "host") : /:/.test(String(p))));
}

/** Compose durations: `1m30s`, `10s`, `500ms`, `1h`, or a bare number of seconds. */
export function durationS(v: unknown): number | null {
  if (typeof v === "number") return v;
  if (typeof v !== "string" || v.trim() === "") return null;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6, µs: 1e-6, ns: 1e-9 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g;
  let consumed = 0;
  for (const m of v.trim().matchAll(re)) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  return consumed === v.trim().length ? total : null;
}

/** `registry/ns/name:tag@digest` → the parts the pin check needs. */
export function parseImage(ref: string): { repository: string; namespace: string; tag: string | null; digest: string | null } {
  const at = ref.indexOf("@");
  const digest = at < 0 ? null : ref.slice(at + 1);
  const name = at < 0 ? ref : ref.slice(0, at);
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  const tag = colon > slash ? name.slice(colon + 1) : null;
  const repository = colon > slash ? name.slice(0, colon) : name;
  return { repository, namespace: slash < 0 ? "" : name.slice(0, slash), tag, digest };
}

const MENTIONS_COMMIT = /\$\{?GIT_COMMIT\b/;
const short = (sha: string) => `${sha.slice(0, 8)}…`;
const FULL_SHA = /^[0-9a-f]{40}$/;
const SHORT_SHA = /^[0-9a-f]{7,39}$/;

// ── the rules ───────────────────────────────────────────────────────────────────────────────────

export const buildDirective: Rule = perService((s) =>
  "build" in s.spec
    ? [finding("build-directive", s.name, `${s.name}: has build:, which docker stack deploy ignores (stack mode never builds); build and push the image in CI and reference it as image: <registry>/<name>:\${GIT_COMMIT}`)]
    : [],
);

/**
 * The stack's own images (the ones CI builds) must carry the deployed SHA. "Own" is what can be
 * told from the file: the image names GIT_COMMIT, its tag looks like a commit (7–39 hex), or it
 * floats (`:latest`, no tag) in the registry namespace of an image that names GIT_COMMIT. Third-party images
 * (traefik:v3.3, postgres:16) are not judged.
 */
export const imageNotPinned: Rule = (stack) => {
  const ownNamespaces = new Set(
    stack.services.filter((s) => s.rawImage && MENTIONS_COMMIT.test(s.rawImage)).map((s) => parseImage(String(s.spec.image ?? "")).namespace),
  );
  const fix = "tag images with the full SHA (docker/metadata-action: type=sha,format=long) and write image: <name>:${GIT_COMMIT}";
  return stack.services.flatMap((s) => {
    const image = typeof s.spec.image === "string" ? s.spec.image : null;
    if (!image) return [];
    const { tag, digest, namespace } = parseImage(image);
    if (digest) return []; // a digest cannot move
    const floating = tag === null || tag === "latest";
    // A sibling with a fixed tag of its own (lab/proxy:local) is a deliberate choice, not a mistake.
    const own =
      (s.rawImage !== null && MENTIONS_COMMIT.test(s.rawImage)) ||
      (tag !== null && SHORT_SHA.test(tag)) ||
      (floating && namespace !== "" && ownNamespaces.has(namespace));
    if (!own) return [];
    const pinned = tag !== null && (stack.sha ? tag === stack.sha : FULL_SHA.test(tag));
    if (pinned) return [];
    const target = stack.sha ? `the deployed SHA ${short(stack.sha)}` : "a full 40-character commit SHA";
    const what =
      tag === null ? `image ${image} has no tag (Swarm resolves it to :latest and never re-pulls it)`
      : tag === "latest" ? `image ${image} uses :latest, which Swarm never re-pulls for an unchanged spec`
      : `image ${image} is not pinned to ${target}`;
    return [finding("image-not-pinned", s.name, `${s.name}: ${what}${floating ? ` (expected ${target})` : ""}; ${fix}`)];
  });
};

export const unsetVariable: Rule = (stack) => {
  const seen = new Set<string>();
  return stack.unresolved.flatMap((u) => {
    const key = `${u.where}\0${u.reference}`;
    if (seen.has(key)) return [];
    seen.add(key);
    const what =
      u.why === "invalid" ? `${u.reference} is not compose interpolation syntax (docker stack deploy refuses the file); use \${VAR}, \${VAR:-default} or \${VAR:?message}`
      : u.why === "required" ? `${u.reference}: ${u.variable} is required${u.hint ? ` (${u.hint})` : ""} but not set; set it in AGENT_ENV_FILE or the agent's environment`
      : `${u.reference} has no value and no default (it would deploy as ""); set ${u.variable} in AGENT_ENV_FILE or the agent's environment, or write \${${u.variable}:-default}`;
    return [finding("unset-variable", u.where, `${u.where}: ${what}`)];
  });
};

/**
 * The lines of the services' env_files, read by stack mode literally. The agent's own
 * AGENT_ENV_FILE is read with dotenv (quotes are stripped there), so it is only checked for `${…}`,
 * which neither reader expands.
 */
function envFileLines(stack: RenderedStack, withAgentFile: boolean) {
  const out: { service: string; path: string; line: number; key: string; value: string }[] = [];
  for (const s of stack.services)
    for (const f of s.envFiles) for (const l of f.lines ?? []) if (l.value !== null) out.push({ service: s.name, path: f.path, ...l, value: l.value });
  if (withAgentFile && stack.agentEnvFile)
    for (const l of stack.agentEnvFile.lines) if (l.value !== null) out.push({ service: "AGENT_ENV_FILE", path: stack.agentEnvFile.path, ...l, value: l.value });
  return out;
}

// Values are never quoted back: env files hold secrets. Key and line number are enough to find it.
export const envFileQuotedValue: Rule = (stack) =>
  envFileLines(stack, false)
    .filter((l) => /^["']/.test(l.value))
    .map((l) =>
      finding("env-file-quoted-value", l.service, `${l.service}: ${l.path} line ${l.line}: the value of ${l.key} is wrapped in quotes, which stack mode passes literally (the quotes become part of the value); write ${l.key}=value without quotes`),
    );

export const envFileInterpolation: Rule = (stack) =>
  envFileLines(stack, true).flatMap((l) => {
    const refs = [...l.value.matchAll(/\$\{[^}]*\}/g)].map((m) => m[0]);
    if (refs.length === 0) return [];
    return [
      finding("env-file-interpolation", l.service, `${l.service}: ${l.path} line ${l.line}: the value of ${l.key} contains ${refs.join(", ")}, which is never expanded inside an env_file; write the value itself, or move ${l.key} to the service's environment: where \${…} is interpolated`),
    ];
  });

export const labelsOutsideDeploy: Rule = perService((s) => {
  const keys = Object.keys(labelsOf(s.spec.labels)).filter((k) => k.startsWith("traefik."));
  if (keys.length === 0) return [];
  return [
    finding("labels-outside-deploy", s.name, `${s.name}: ${keys.length} traefik.* label(s) (${keys[0]}${keys.length > 1 ? ", …" : ""}) are under labels:, which are container labels Traefik's Swarm provider never reads, so the route is silently dropped; move them under deploy.labels`),
  ];
});

export const containerName: Rule = perService((s) =>
  "container_name" in s.spec
    ? [finding("container-name", s.name, `${s.name}: container_name: ${String(s.spec.container_name)} is not supported by stack mode (Swarm names tasks itself, and one fixed name cannot run two tasks during an update); remove it and address the service by its name`)]
    : [],
);

export const stopFirstRouted: Rule = perService((s) => {
  if (updateOrder(s) !== "stop-first" || !(traefikRouted(s) || publishesIngress(s))) return [];
  const how = traefikRouted(s) ? "routed by Traefik" : "published on the ingress network";
  return [
    finding("stop-first-routed", s.name, `${s.name}: is ${how} but updated stop-first${isRecord(deployOf(s).update_config) && (deployOf(s).update_config as Record<string, unknown>).order ? "" : " (Swarm's default)"}: its old task stops before the new one serves, so users get 502s; set deploy.update_config.order: start-first`),
  ];
});

function healthcheckOf(s: RenderedService): Record<string, unknown> | null {
  const h = s.spec.healthcheck;
  if (!isRecord(h) || h.disable === true) return null;
  if (Array.isArray(h.test) && h.test[0] === "NONE") return null;
  return h;
}

export const noHealthcheck: Rule = perService((s) =>
  updateOrder(s) === "start-first" && !healthcheckOf(s)
    ? [finding("no-healthcheck", s.name, `${s.name}: is updated start-first without a healthcheck: Swarm counts a task as ready the moment it starts, so the old one stops before the new one can serve (unless the image has a HEALTHCHECK); add healthcheck: test: [CMD, …] with a short interval`)]
    : [],
);

/** interval × retries (+ start_period) of a service's healthcheck, in seconds, compose defaults filled in. */
export function healthcheckBound(h: Record<string, unknown>) {
  const intervalS = durationS(h.interval) ?? HEALTHCHECK_DEFAULTS.intervalS;
  const retries = typeof h.retries === "number" ? h.retries : Number(h.retries ?? HEALTHCHECK_DEFAULTS.retries) || HEALTHCHECK_DEFAULTS.retries;
  const startPeriodS = durationS(h.start_period) ?? HEALTHCHECK_DEFAULTS.startPeriodS;
  return { intervalS, retries, startPeriodS, failingS: intervalS * retries, totalS: intervalS * retries + startPeriodS };
}

const secs = (n: number) => `${Math.round(n * 1000) / 1000}s`;

export const slowHealthcheck: Rule = perService((s) => {
  const h = healthcheckOf(s);
  if (!h) return [];
  const b = healthcheckBound(h);
  if (b.failingS <= SLOW_HEALTHCHECK_LIMIT_S) return [];
  const figure = `interval ${secs(b.intervalS)} × retries ${b.retries} = ${secs(b.failingS)}${b.startPeriodS ? ` + start_period ${secs(b.startPeriodS)} = ${secs(b.totalS)}` : ""}`;
  return [
    finding("slow-healthcheck", s.name, `${s.name}: healthcheck ${figure} > ${SLOW_HEALTHCHECK_LIMIT_S}s: a bad task keeps serving that long before Swarm marks it unhealthy, and a rollback waits as long; lower interval (e.g. 5s) or retries so interval × retries ≤ ${SLOW_HEALTHCHECK_LIMIT_S}s`),
  ];
});

export const traefikTaskRouting: Rule = perService((s) => {
  if (!traefikRouted(s)) return [];
  const labels = deployLabels(s);
  if (truthy(labels["traefik.swarm.lbswarm"]) || truthy(labels["traefik.docker.lbswarm"])) return [];
  return [
    finding("traefik-task-routing", s.name, `${s.name}: Traefik routes to task IPs (no lbswarm label): its task list lags Swarm by up to refreshSeconds, so it keeps sending requests to tasks that are stopping; add deploy.labels traefik.swarm.lbswarm=true (Traefik v2: traefik.docker.lbswarm=true) to route through the service VIP`),
  ];
});

/** Named volumes a service mounts (not bind mounts, not tmpfs). */
function namedVolumes(s: RenderedService): string[] {
  const vols = Array.isArray(s.spec.volumes) ? s.spec.volumes : [];
  return vols.flatMap((v) => {
    if (typeof v === "string") {
      const parts = v.split(":");
      if (parts.length < 2) return [];
      return /^[./~$]/.test(parts[0]) ? [] : [parts[0]];
    }
    if (isRecord(v) && (v.type === "volume" || v.type === undefined) && typeof v.source === "string" && v.source !== "") return [v.source];
    return [];
  });
}

export const statefulStartFirst: Rule = perService((s) => {
  if (updateOrder(s) !== "start-first") return [];
  const vols = namedVolumes(s);
  if (vols.length === 0) return [];
  return [
    finding("stateful-start-first", s.name, `${s.name}: mounts the named volume ${vols.join(", ")} and is updated start-first, so two tasks use it at once during an update (a database can corrupt its files or refuse the lock); use order: stop-first for stateful services, or keep the state outside the task`),
  ];
});

/** Every rule, in the order findings are reported. */
export const RULES: Record<RuleId, Rule> = {
  "build-directive": buildDirective,
  "image-not-pinned": imageNotPinned,
  "unset-variable": unsetVariable,
  "env-file-quoted-value": envFileQuotedValue,
  "env-file-interpolation": envFileInterpolation,
  "labels-outside-deploy": labelsOutsideDeploy,
  "container-name": containerName,
  "stop-first-routed": stopFirstRouted,
  "no-healthcheck": noHealthcheck,
  "slow-healthcheck": slowHealthcheck,
  "traefik-task-routing": traefikTaskRouting,
  "stateful-start-first": statefulStartFirst,
};
