// The GitHub App path of the GitHub client: GitHub hands out PKCS#1 keys, WebCrypto imports PKCS#8;
// the App JWT must verify with the App's public key, and the installation token must be cached.
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { importSPKI, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Config } from "../../../src/worker/config";
import { appJwtFor, githubClient, toPkcs8 } from "../../../src/worker/integrations/github-client";

const { privateKey: pkcs1Pem, publicKey: spkiPem } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const NOW = Date.parse("2026-11-26T12:00:00Z");

describe("GitHub App keys and JWT", () => {
  test("a PKCS#1 key (as GitHub hands it out) is rewrapped as PKCS#8; a PKCS#8 key is left alone", () => {
    expect(pkcs1Pem).toContain("BEGIN RSA PRIVATE KEY");
    const pkcs8 = toPkcs8(pkcs1Pem);
    expect(pkcs8).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PRIVATE KEY-----$/);
    expect(toPkcs8(pkcs8)).toBe(pkcs8);
    // escaped newlines (a secret pasted on one line) are accepted too
    expect(toPkcs8(pkcs1Pem.replace(/\n/g, "\\n"))).toBe(pkcs8);
  });

  test("the App JWT is RS256, issued by the App id 60 s in the past, valid 9 minutes, and verifies with the App's public key", async () => {
    const jwt = await appJwtFor("12345", pkcs1Pem, NOW);
    const { payload, protectedHeader } = await jwtVerify(jwt, await importSPKI(spkiPem, "RS256"), { currentDate: new Date(NOW) });
    expect(protectedHeader.alg).toBe("RS256");
    expect(payload.iss).toBe("12345");
    expect(payload.iat).toBe(NOW / 1000 - 60);
    expect(payload.exp).toBe(NOW / 1000 - 60 + 540);
  });
});

describe("githubClient as a GitHub App", () => {
  const seen: { path: string; auth: string | undefined }[] = [];
  let server: http.Server;
  let base = "";
  beforeAll(async () => {
    const publicKey = await importSPKI(spkiPem, "RS256");
    server = http.createServer(async (req, res) => {
      seen.push({ path: req.url ?? "", auth: req.headers.authorization });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method === "POST" && req.url === "/app/installations/777/access_tokens") {
        const jwt = (req.headers.authorization ?? "").replace(/^bearer /i, "");
        try {
          await jwtVerify(jwt, publicKey, { issuer: "12345" });
        } catch {
          return send(401, { message: "Bad credentials" });
        }
        return send(201, { token: "ghs_installation", expires_at: new Date(Date.now() + 3600_000).toISOString() });
      }
      if (req.method === "GET" && req.url === "/repos/acme/app") {
        return req.headers.authorization === "token ghs_installation" ? send(200, { id: 1 }) : send(401, { message: "Bad credentials" });
      }
      send(404, { message: "Not Found" });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test("exchanges the App JWT for an installation token once and uses it for API calls", async () => {
    const config = { GITHUB_API_URL: base, GITHUB_APP_ID: "12345", GITHUB_APP_PRIVATE_KEY: pkcs1Pem, GITHUB_APP_INSTALLATION_ID: "777" } as unknown as Config;
    for (let i = 0; i < 2; i++) {
      const gh = await githubClient(config);
      expect(gh).not.toBeNull();
      const { data } = await gh!.rest.repos.get({ owner: "acme", repo: "app" });
      expect(data.id).toBe(1);
    }
    expect(seen.filter((s) => s.path.endsWith("/access_tokens"))).toHaveLength(1);
    expect(seen.filter((s) => s.path === "/repos/acme/app").every((s) => s.auth === "token ghs_installation")).toBe(true);
  });

  test("without a token or an App, GitHub features are off", async () => {
    expect(await githubClient({ GITHUB_API_URL: base } as unknown as Config)).toBeNull();
  });
});
