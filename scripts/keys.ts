// `npm run keys`: a fresh Ed25519 key pair for agent calls, both halves carrying the same `kid`
// (the key's RFC 7638 thumbprint). The private JWK is the Worker's AGENT_SIGNING_KEY secret; the
// public JWK (no "d") is the agent's AGENT_COORDINATOR_PUBLIC_KEY.
// `npm run keys -- --json` prints {"private": …, "public": …} on one line for scripts.
// `npm run keys -- --rotate '<the agent's current AGENT_COORDINATOR_PUBLIC_KEY>'` also prints the
// JWKS listing the current key(s) and the new one: step 1 of a rotation (docs/setup.md).
import { pathToFileURL } from "node:url";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";

type Pair = { private: Record<string, string>; public: Record<string, string> };

export async function agentKeyPair(): Promise<Pair> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = await exportJWK(privateKey);
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || !jwk.d || !jwk.x) throw new Error("unexpected key export");
  const kid = await calculateJwkThumbprint({ kty: "OKP", crv: "Ed25519", x: jwk.x });
  return { private: { kty: "OKP", crv: "Ed25519", d: jwk.d, x: jwk.x, kid }, public: { kty: "OKP", crv: "Ed25519", x: jwk.x, kid } };
}

/**
 * The JWKS an agent holds during a rotation: its current key(s) and the new one. A current key
 * without a kid (made before kids existed) gets its thumbprint as kid; the Worker still signing
 * with it sends no kid, and a token without a kid is checked against every listed key.
 */
export async function rotationJwks(current: string, next: Record<string, string>): Promise<{ keys: Record<string, string>[] }> {
  const parsed = JSON.parse(current) as JWK | { keys: JWK[] };
  const keys = "keys" in parsed ? parsed.keys : [parsed];
  const out: Record<string, string>[] = [];
  for (const k of keys) {
    if (k.kty !== "OKP" || k.crv !== "Ed25519" || typeof k.x !== "string" || "d" in k) throw new Error("--rotate takes the agent's current PUBLIC key (Ed25519 JWK or JWKS)");
    const kid = typeof k.kid === "string" ? k.kid : await calculateJwkThumbprint({ kty: "OKP", crv: "Ed25519", x: k.x });
    if (kid !== next.kid) out.push({ kty: "OKP", crv: "Ed25519", x: k.x, kid });
  }
  return { keys: [...out, next] };
}

async function main() {
  const pair = await agentKeyPair();
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify(pair));
    return;
  }
  const rotateAt = process.argv.indexOf("--rotate");
  if (rotateAt > 0) {
    const jwks = await rotationJwks(process.argv[rotateAt + 1] ?? "", pair.public);
    console.log(`# Rotation (docs/setup.md "Rotating the agent key"), kid of the new key: ${pair.public.kid}
# 1. The agent accepts the current and the new key: in /etc/deploy-coordinator/agent.env, restart the agent:
AGENT_COORDINATOR_PUBLIC_KEY=${JSON.stringify(jwks)}

# 2. Then switch the Worker to the new private half:
#      npx wrangler secret put AGENT_SIGNING_KEY
${JSON.stringify(pair.private)}

# 3. Once no deploy is running, leave only the new key on the agent and restart it:
AGENT_COORDINATOR_PUBLIC_KEY=${JSON.stringify(pair.public)}`);
    return;
  }
  console.log(`# kid ${pair.public.kid}
# 1. The Worker's secret (private half; nowhere else). Run:
#      npx wrangler secret put AGENT_SIGNING_KEY
#    and paste this line:
${JSON.stringify(pair.private)}

# 2. The agent's public key, in /etc/deploy-coordinator/agent.env (one line):
AGENT_COORDINATOR_PUBLIC_KEY=${JSON.stringify(pair.public)}

# For local runs, .dev.vars takes the private half as:
# AGENT_SIGNING_KEY='${JSON.stringify(pair.private)}'`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
