// /docs: the OpenAPI document rendered as one static HTML page (operations, their security and
// statuses), so people can read the API without a script-loading viewer or anything sensitive.
import type { oas31 } from "zod-openapi";
import { esc } from "../views/escape";

type Operation = { summary?: string; description?: string; security?: Record<string, string[]>[]; responses?: Record<string, { description?: string }> };

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

export function renderReference(doc: oas31.OpenAPIObject): string {
  const rows: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const o = (item as Record<string, Operation | undefined>)[method];
      if (!o) continue;
      const security = o.security?.length ? o.security.map((s) => Object.keys(s).join(" + ")).join(" or ") : "none";
      const statuses = Object.entries(o.responses ?? {})
        .map(([code, r]) => `<li><b>${esc(code)}</b> ${esc(r.description ?? "")}</li>`)
        .join("");
      rows.push(
        `<section><h2><code>${esc(method.toUpperCase())} ${esc(path)}</code></h2><p>${esc(o.summary ?? "")}</p>${o.description ? `<p>${esc(o.description)}</p>` : ""}<p>auth: <code>${esc(security)}</code></p><ul>${statuses}</ul></section>`,
      );
    }
  }
  const schemes = Object.entries((doc.components?.securitySchemes ?? {}) as Record<string, { description?: string }>)
    .map(([name, s]) => `<li><code>${esc(name)}</code>: ${esc(s.description ?? "")}</li>`)
    .join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info.title)} API</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}h2{font-size:1rem;margin:1.6rem 0 .3rem}code{background:#f2f4f7;padding:0 .25rem;border-radius:3px}section{border-top:1px solid #e3e6ea}</style></head>
<body><h1>${esc(doc.info.title)} API <small>v${esc(doc.info.version)}</small></h1><p>${esc(doc.info.description ?? "")}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1; generate clients or import it into Postman or Bruno).</p>
<h2>Authentication</h2><ul>${schemes}</ul>${rows.join("\n")}</body></html>`;
}
