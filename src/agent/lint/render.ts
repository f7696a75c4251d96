// The stack as `docker stack deploy` will see it: YAML parsed by a real parser (anchors and merge
// keys included), every string value interpolated the way compose does, and the variables that had
// no value recorded instead of silently becoming "". Pure: env files arrive as text.
import { parseDocument } from "yaml";
import { parseEnvFile, type EnvLine } from "./envfile";

/** Compose refuses more alias expansions than this; a billion-laughs file is not a stack. */
const MAX_ALIAS_COUNT = 100;

/** A `${…}` reference that will not resolve: unset without default, `:?` tripped, or not compose syntax. */
export type Unresolved = { where: string; reference: string; variable: string; why: "unset" | "required" | "invalid"; hint?: string };

export type EnvFileText = { path: string; text: string | null };

export type RenderedService = {
  name: string;
  /** The service after interpolation (plain JS values). */
  spec: Record<string, unknown>;
  /** `image:` as written, before interpolation (tells an image CI builds from a third-party one). */
  rawImage: string | null;
  /** Its `env_file:` entries in order, read relative to the compose file (`lines` null: unreadable). */
  envFiles: { path: string; required: boolean; lines: EnvLine[] | null }[];
};

export type RenderedStack = {
  /** The deployed SHA (GIT_COMMIT), when known. */
  sha: string | null;
  services: RenderedService[];
  unresolved: Unresolved[];
  /** The agent's own env file (AGENT_ENV_FILE), when one was given. */
  agentEnvFile: { path: string; lines: EnvLine[] } | null;
};

export type RenderInput = {
  sha?: string | null;
  /** The environment of `docker stack deploy`: process env, the agent env file, GIT_COMMIT. */
  env: Record<string, string | undefined>;
  /** Contents of the services' env files by the path written in the compose file (null: unreadable). */
  envFiles?: Record<string, string | null>;
  agentEnvFile?: { path: string; text: string } | null;
};

export type RenderResult = { ok: true; stack: RenderedStack } | { ok: false; error: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const BRACED = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/;

/**
 * Compose interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?e}`, `${VAR?e}`,
 * `${VAR:+a}`, `${VAR+a}`, defaults nested (`${A:-${B}}`). What cannot resolve is reported, not thrown.
 */
export function substitute(text: string, env: Record<string, string | undefined>, report: (u: Omit<Unresolved, "where">) => void): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== "$") {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === "$") {
      out += "$";
      i += 2;
      continue;
    }
    if (next === "{") {
      let depth = 1;
      let j = i + 2;
      for (; j < text.length && depth > 0; j++) {
        if (text[j] === "{") depth++;
        else if (text[j] === "}") depth--;
      }
      const reference = text.slice(i, j);
      if (depth > 0) {
        report({ reference, variable: reference.slice(2), why: "invalid" });
        return out + text.slice(i);
      }
      const m = BRACED.exec(reference.slice(2, -1));
      if (!m) {
        report({ reference, variable: (NAME.exec(reference.slice(2)) ?? [""])[0], why: "invalid" });
        out += reference;
        i = j;
        continue;
      }
      const [, name, op, arg = ""] = m;
      const value = env[name];
      const unsetOrEmpty = value === undefined || value === "";
      const absent = op?.startsWith(":") ? unsetOrEmpty : value === undefined;
      if (!op) {
        if (value === undefined) report({ reference, variable: name, why: "unset" });
        out += value ?? "";
      } else if (op.endsWith("-")) {
        out += absent ? substitute(arg, env, report) : value!;
      } else if (op.endsWith("+")) {
        out += absent ? "" : substitute(arg, env, report);
      } else {
        if (absent) report({ reference, variable: name, why: "required", hint: arg || undefined });
        out += value ?? "";
      }
      i = j;
      continue;
    }
    const bare = NAME.exec(text.slice(i + 1));
    if (bare) {
      const value = env[bare[0]];
      if (value === undefined) report({ reference: "$" + bare[0], variable: bare[0], why: "unset" });
      out += value ?? "";
      i += 1 + bare[0].length;
      continue;
    }
    out += "$";
    i++;
  }
  return out;
}

/** Interpolates every string value (never keys) of a parsed compose tree. */
function interpolateTree(node: unknown, env: Record<string, string | undefined>, where: string, found: Unresolved[]): unknown {
  if (typeof node === "string") return substitute(node, env, (u) => found.push({ ...u, where }));
  if (Array.isArray(node)) return node.map((v) => interpolateTree(v, env, where, found));
  if (node && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = interpolateTree(v, env, where, found);
    return out;
  }
  return node;
}

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/** `env_file:` as a list of {path, required}: a string, a list of strings, or the long syntax. */
export function envFileEntries(spec: Record<string, unknown>): { path: string; required: boolean }[] {
  const raw = spec.env_file;
  const list = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [raw];
  return list.flatMap((e) => {
    if (typeof e === "string") return [{ path: e, required: true }];
    if (isRecord(e) && typeof e.path === "string") return [{ path: e.path, required: e.required !== false }];
    return [];
  });
}

/** Parses and interpolates a compose file. Fails only when it is not a readable stack at all. */
export function renderStack(yamlText: string, input: RenderInput): RenderResult {
  const doc = parseDocument(yamlText, { merge: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line;
    return { ok: false, error: `not valid YAML${line ? ` (line ${line})` : ""}: ${e.message.split("\n")[0]}` };
  }
  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    return { ok: false, error: `cannot be read: ${(e as Error).message}` };
  }
  if (!isRecord(tree) || !isRecord(tree.services)) return { ok: false, error: "has no `services:` mapping" };

  const unresolved: Unresolved[] = [];
  for (const [key, value] of Object.entries(tree)) {
    // Extension fields (`x-…`) only matter where they are merged into a service, which reports them.
    if (key === "services" || key.startsWith("x-")) continue;
    if (isRecord(value)) for (const [name, entry] of Object.entries(value)) interpolateTree(entry, input.env, `${key}.${name}`, unresolved);
    else interpolateTree(value, input.env, key, unresolved);
  }

  const services: RenderedService[] = [];
  for (const [name, raw] of Object.entries(tree.services)) {
    const rawSpec = isRecord(raw) ? raw : {};
    const spec = interpolateTree(rawSpec, input.env, name, unresolved) as Record<string, unknown>;
    const envFiles = envFileEntries(spec).map(({ path, required }) => {
      const text = input.envFiles?.[path];
      return { path, required, lines: text === undefined || text === null ? null : parseEnvFile(text) };
    });
    services.push({ name, spec, rawImage: typeof rawSpec.image === "string" ? rawSpec.image : null, envFiles });
  }

  const agentEnvFile = input.agentEnvFile ? { path: input.agentEnvFile.path, lines: parseEnvFile(input.agentEnvFile.text) } : null;
  return { ok: true, stack: { sha: input.sha ?? null, services, unresolved, agentEnvFile } };
}
