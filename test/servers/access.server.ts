// A stand-in for Cloudflare Access's certificate endpoint on 127.0.0.1 (<team domain>/cdn-cgi/access/certs),
// so the pages' Access JWT check runs against a real remote key set. Tests mint tokens with `privateJwk`.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import type { StartedServer } from "./types";

export const ACCESS_TEST_AUD = "test-access-aud-0123456789abcdef";

export async function start(): Promise<StartedServer> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = "access-test-key";
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "RS256" };
  let certRequests = 0;
  const server = http.createServer((req, res) => {
    if (req.url === "/cdn-cgi/access/certs") {
      certRequests++;
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ keys: [publicJwk], public_cert: { kid }, public_certs: [] }));
    }
    if (req.url === "/__stats") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ certRequests }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    info: { url, privateJwk, kid, aud: ACCESS_TEST_AUD, bindings: { CF_ACCESS_TEAM_DOMAIN: url, CF_ACCESS_AUD: ACCESS_TEST_AUD } },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
