// Local stand-ins for GitHub's Deployments API and a Slack incoming webhook, on 127.0.0.1, so a
// benchmark can run the Worker with GitHub and Slack switched on without anything leaving the
// machine. They answer what the Worker needs (a deployment id, 201s, "ok") and count the calls.
import http from "node:http";

export interface FakeService {
  url: string;
  port: number;
  /** requests received, by "METHOD path-shape" */
  calls(): Record<string, number>;
  close(): Promise<void>;
}

async function serve(port: number, handle: (req: http.IncomingMessage, body: string) => { status: number; body: unknown; key: string }): Promise<FakeService> {
  const calls: Record<string, number> = {};
  const server = http.createServer(async (req, res) => {
    let body = "";
    for await (const ch of req) body += ch;
    const r = handle(req, body);
    calls[r.key] = (calls[r.key] ?? 0) + 1;
    res.writeHead(r.status, { "content-type": typeof r.body === "string" ? "text/plain" : "application/json" });
    res.end(typeof r.body === "string" ? r.body : JSON.stringify(r.body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    calls: () => ({ ...calls }),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** POST /repos/:o/:r/deployments → 201 {id}; POST …/deployments/:id/statuses → 201. */
export function startFakeGithub(port: number): Promise<FakeService> {
  let next = 1;
  return serve(port, (req) => {
    const p = new URL(req.url ?? "/", "http://x").pathname;
    if (req.method === "POST" && /^\/repos\/[^/]+\/[^/]+\/deployments$/.test(p)) return { status: 201, body: { id: next++ }, key: "POST deployments" };
    if (req.method === "POST" && /^\/repos\/[^/]+\/[^/]+\/deployments\/\d+\/statuses$/.test(p)) return { status: 201, body: { id: next++ }, key: "POST statuses" };
    return { status: 404, body: { message: "Not Found" }, key: `${req.method} other` };
  });
}

/** Any POST → 200 "ok", like hooks.slack.com. */
export function startFakeSlack(port: number): Promise<FakeService> {
  return serve(port, (req) => ({ status: req.method === "POST" ? 200 : 405, body: "ok", key: `${req.method}` }));
}
