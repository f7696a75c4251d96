// `npm run keys`: the two halves belong together, and only the Worker's half carries the secret.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { SignJWT, calculateJwkThumbprint, importJWK, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";

const ROOT = path.join(import.meta.dirname, "../../..");

function runKeys(...args: string[]): string {
  const r = spawnSync(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "scripts/keys.ts"), ...args], { encoding: "utf8", timeout: 20_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe("npm run keys", () => {
  it("prints a key pair whose public half verifies what the private half signs, and keeps d out of the public half", async () => {
    const pair = JSON.parse(runKeys("--json")) as { private: Record<string, string>; public: Record<string, string> };
    expect(pair.private).toMatchObject({ kty: "OKP", crv: "Ed25519" });
    expect(pair.private.d).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pair.public).toEqual({ kty: "OKP", crv: "Ed25519", x: pair.private.x, kid: pair.private.kid });
    // the kid is the public key's RFC 7638 thumbprint, so anyone can recompute it
    expect(pair.public.kid).toBe(await calculateJwkThumbprint({ kty: "OKP", crv: "Ed25519", x: pair.public.x }));
    const jwt = await new SignJWT({}).setProtectedHeader({ alg: "EdDSA" }).setIssuer("deploy-coordinator").sign(await importJWK(pair.private, "EdDSA"));
    await expect(jwtVerify(jwt, await importJWK(pair.public, "EdDSA"))).resolves.toBeTruthy();
  });

  it("prints a new pair each time, with instructions for the Worker secret and the agent's env file", () => {
    const a = runKeys();
    const b = runKeys();
    expect(a).not.toBe(b);
    expect(a).toContain("npx wrangler secret put AGENT_SIGNING_KEY");
    expect(a).toMatch(/^AGENT_COORDINATOR_PUBLIC_KEY=\{"kty":"OKP","crv":"Ed25519","x":"[A-Za-z0-9_-]{43}","kid":"[A-Za-z0-9_-]{43}"\}$/m);
  });

  it("--rotate prints a JWKS with the current key and the new one, giving a kid-less current key its thumbprint", async () => {
    const old = JSON.parse(runKeys("--json")) as { public: Record<string, string> };
    const { kid: _dropped, ...oldWithoutKid } = old.public;
    const out = runKeys("--rotate", JSON.stringify(oldWithoutKid));
    const lines = out.split("\n").filter((l) => l.startsWith("AGENT_COORDINATOR_PUBLIC_KEY="));
    expect(lines).toHaveLength(2);
    const during = JSON.parse(lines[0].slice("AGENT_COORDINATOR_PUBLIC_KEY=".length)) as { keys: Record<string, string>[] };
    const after = JSON.parse(lines[1].slice("AGENT_COORDINATOR_PUBLIC_KEY=".length)) as Record<string, string>;
    expect(during.keys).toEqual([old.public, after]);
    expect(after.kid).not.toBe(old.public.kid);
    expect(out).toContain("npx wrangler secret put AGENT_SIGNING_KEY");
  });
});
