// Test fixtures built by helpers: a coordinator key pair and tokens minted the way the Worker does.
import { exportJWK, generateKeyPair, SignJWT, importJWK } from "jose";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { signAgentToken } from "../../../src/protocol/agent-token";
import type { ServiceInspect, TaskInspect } from "../../../src/agent/docker";

export const AUDIENCE = "https://agent.example.org";

export async function coordinatorKeys() {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { extractable: true });
  return { privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
}

export type MintOptions = Partial<Parameters<typeof signAgentToken>[0]>;

export function minter(privateJwk: JsonWebKey) {
  return (o: MintOptions = {}) =>
    signAgentToken({ privateJwk, audience: AUDIENCE, method: "GET", path: "/v1/stack", body: "", now: Date.now(), ...o });
}

/** A token with arbitrary claims and header, for the refusals signAgentToken would never produce. */
export async function rawToken(privateJwk: JsonWebKey, claims: Record<string, unknown>, alg = "EdDSA"): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg }).sign(await importJWK(privateJwk as never, alg));
}

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

/** Real `docker service inspect` + task JSON recorded from the lab at one moment of an update. */
export function recorded(moment: "created" | "updating-good2" | "completed-good2" | "rollback-started" | "rollback-completed") {
  const service = (JSON.parse(readFileSync(path.join(FIXTURES, `${moment}.service.json`), "utf8")) as ServiceInspect[])[0];
  const tasks = JSON.parse(readFileSync(path.join(FIXTURES, `${moment}.tasks.json`), "utf8")) as TaskInspect[];
  return { service, tasks };
}
