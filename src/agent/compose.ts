// Which images will this compose file deploy for a given SHA? A deliberately small reader of the
// block-style YAML compose files are written in, plus compose's variable interpolation. No YAML
// dependency (the agent ships as one small file); anything it cannot read with certainty (flow
// style, anchors, a service without a plain `image:`) is an error, so the pre-flight check fails
// closed instead of guessing.

export type ComposeImages = { ok: true; images: { service: string; image: string }[] } | { ok: false; error: string };

/** Compose interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?e}`, `${VAR?e}`. */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, braced: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (all === "$$") return "$";
      const name = (braced ?? bare)!;
      const v = env[name];
      if (!op) return v ?? "";
      const unset = op.startsWith(":") ? v === undefined || v === "" : v === undefined;
      if (op.endsWith("-")) return unset ? (arg ?? "") : v!;
      if (unset) throw new Error(`variable ${name} is required: ${arg || "not set"}`);
      return v!;
    },
  );
}

const indentOf = (line: string) => line.length - line.trimStart().length;

function scalar(raw: string): string | null {
  let v = raw.trim();
  if (v.startsWith('"') || v.startsWith("'")) {
    const q = v[0];
    const end = v.indexOf(q, 1);
    if (end < 0) return null;
    return v.slice(1, end);
  }
  v = v.replace(/\s+#.*$/, "").trim();
  if (v === "" || /^[&*!|>{[]/.test(v)) return null; // anchors, aliases, tags, blocks, flow: not read
  return v;
}

/** Images per service of a compose file, after interpolation with `env`. */
export function composeImages(yamlText: string, env: Record<string, string | undefined>): ComposeImages {
  const lines = yamlText.split(/\r?\n/);
  const start = lines.findIndex((l) => /^services:\s*(#.*)?$/.test(l));
  if (start < 0) return { ok: false, error: "no top-level `services:` block (flow style is not supported)" };

  const images: { service: string; image: string }[] = [];
  let serviceIndent = -1;
  let current: { name: string; image: string | null; propIndent: number } | null = null;
  const finish = (): string | null => {
    if (!current) return null;
    if (current.image === null) return `service ${current.name} has no plain \`image:\` the agent can read`;
    try {
      images.push({ service: current.name, image: interpolate(current.image, env) });
    } catch (e) {
      return `service ${current.name}: ${(e as Error).message}`;
    }
    return null;
  };

  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const ind = indentOf(line);
    if (ind === 0) break; // next top-level key
    if (serviceIndent < 0) serviceIndent = ind;
    if (ind < serviceIndent) return { ok: false, error: `unexpected indentation at line ${i + 1}` };
    if (ind === serviceIndent) {
      const err = finish();
      if (err) return { ok: false, error: err };
      const m = /^\s*("?)([A-Za-z0-9_.-]+)\1:\s*(#.*)?$/.exec(line);
      if (!m) return { ok: false, error: `cannot read service name at line ${i + 1}` };
      current = { name: m[2], image: null, propIndent: -1 };
      continue;
    }
    if (!current) continue;
    if (current.propIndent < 0) current.propIndent = ind;
    if (ind !== current.propIndent) continue; // nested under some property
    if (/^\s*<<\s*:/.test(line)) return { ok: false, error: `service ${current.name} uses a YAML merge key` };
    const m = /^\s*image:(.*)$/.exec(line);
    if (m) {
      const v = scalar(m[1]);
      if (v === null) return { ok: false, error: `service ${current.name}: cannot read image at line ${i + 1}` };
      current.image = v;
    }
  }
  const err = finish();
  if (err) return { ok: false, error: err };
  if (images.length === 0) return { ok: false, error: "no services found" };
  return { ok: true, images };
}
