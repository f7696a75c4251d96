// GET /openapi.json (the API described from the routes' own zod schemas) and GET /docs (the same
// document as a plain HTML reference, no scripts). No authentication: nothing in it is secret.
// The document is built once per isolate: it depends only on the code, not on the request.
import { newApp } from "../app";
import { buildDocument } from "../openapi/document";
import { renderReference } from "../openapi/reference";

/** Browsers and the edge may keep it this long: it changes only with a deploy of the Worker. */
const CACHE_CONTROL = "public, max-age=300";

let cached: ReturnType<typeof buildDocument> | null = null;
const documentOnce = () => (cached ??= buildDocument());

export const openapi = newApp()
  .get("/openapi.json", (c) => {
    c.header("Cache-Control", CACHE_CONTROL);
    c.header("Access-Control-Allow-Origin", "*");
    return c.json(documentOnce());
  })
  .get("/docs", (c) => {
    c.header("Cache-Control", CACHE_CONTROL);
    c.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'");
    c.header("X-Content-Type-Options", "nosniff");
    return c.html(renderReference(documentOnce()));
  });
