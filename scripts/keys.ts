// `npm run keys`: a fresh Ed25519 key pair for agent calls. The private JWK is the Worker's
// AGENT_SIGNING_KEY secret; the public JWK (no "d") is the agent's AGENT_COORDINATOR_PUBLIC_KEY.
// `npm run keys -- --json` prints {"private": …, "public": …} on one line for scripts.
import { pathToFileURL } from "node:url";
import { exportJWK, generateKeyPair } from "jose";

export async function agentKeyPair(): Promise<{ private: Record<string, string>; public: Record<string, string> }> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = await exportJWK(privateKey);
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || !jwk.d || !jwk.x) throw new Error("unexpected key export");
  return { private: { kty: "OKP", crv: "Ed25519", d: jwk.d, x: jwk.x }, public: { kty: "OKP", crv: "Ed25519", x: jwk.x } };
}

async function main() {
  const pair = await agentKeyPair();
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify(pair));
    return;
  }
  console.log(`# 1. The Worker's secret (private half; nowhere else). Run:
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
    console.error(e);
    process.exit(1);
  });
}
