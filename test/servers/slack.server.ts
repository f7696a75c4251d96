// A stand-in for Slack's side of the conversation on 127.0.0.1: response_urls and the incoming
// webhook. Every POST is recorded under its path (JSON body parsed); tests read them back with
// GET /__received?path=<path>. Tests use a path of their own per request (files run in parallel).
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { StartedServer } from "./types";

interface Received { path: string; body: unknown; at: number }

/** The Slack user allowed to deploy in tests; any other user id is refused. */
export const SLACK_ALLOWED_USER = "U_ALLOWED";

export async function start(): Promise<StartedServer> {
  const received: Received[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const ch of req) chunks.push(ch as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method === "GET" && url.pathname === "/__received") {
      const path = url.searchParams.get("path");
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(received.filter((r) => path === null || r.path === path)));
    }
    if (req.method !== "POST") {
      res.writeHead(405);
      return res.end();
    }
    let body: unknown = raw;
    try { body = JSON.parse(raw); } catch { /* keep the text */ }
    received.push({ path: url.pathname, body, at: Date.now() });
    // Slack answers "ok" in plain text to a response_url or webhook post
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    // follow-ups go only under SLACK_RESPONSE_ORIGIN (issue 12): this server; http://localhost:<port> is "elsewhere"
    info: { url, bindings: { SLACK_ALLOWED_USERS: `${SLACK_ALLOWED_USER},U_OTHER_ADMIN`, SLACK_NOTIFY_WEBHOOK_URL: `${url}/incoming`, SLACK_RESPONSE_ORIGIN: url } },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
