// The Worker's configuration under test: secrets for tests, the local servers' URLs, and the test
// environments merged from test/environments/*.ts (each exports `environments(servers)`).
import { readdirSync } from "node:fs";
import path from "node:path";
import type { ServerInfo } from "./servers/types";

export const TEST_SECRETS = {
  API_TOKEN: "test-api-token-0123456789",
  GITHUB_WEBHOOK_SECRET: "test-webhook-secret",
  SLACK_SIGNING_SECRET: "test-slack-signing-secret",
  // secret rotation (issue 12): the previous secrets are accepted while set
  GITHUB_WEBHOOK_SECRET_PREVIOUS: "test-webhook-secret-previous",
  SLACK_SIGNING_SECRET_PREVIOUS: "test-slack-signing-secret-previous",
};

export async function testBindings(servers: Record<string, ServerInfo>): Promise<Record<string, string>> {
  const dir = path.join(import.meta.dirname, "environments");
  const environments: Record<string, unknown> = {};
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".ts")).sort()) {
    const mod = (await import(path.join(dir, f))) as { environments(s: Record<string, ServerInfo>): Record<string, unknown> };
    Object.assign(environments, mod.environments(servers));
  }
  const b: Record<string, string> = {
    ...TEST_SECRETS,
    TEST_SERVERS: JSON.stringify(servers),
    ENVIRONMENTS: JSON.stringify(environments),
    AGENT_SIGNING_KEY: TEST_AGENT_PRIVATE_JWK,
    GITHUB_REPOSITORY: "acme/app",
    GITHUB_REPOSITORY_ID: "123456",
    GITHUB_REPOSITORY_OWNER_ID: "654321",
    PUBLIC_URL: "http://127.0.0.1:8787",
  };
  for (const s of Object.values(servers)) Object.assign(b, (s.bindings as Record<string, string> | undefined) ?? {});
  return b;
}

// A fixed Ed25519 key pair for agent-call signing in tests (generated once for the test suite only).
export const TEST_AGENT_PRIVATE_JWK = JSON.stringify({
  kty: "OKP",
  crv: "Ed25519",
  d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
  x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
});
export const TEST_AGENT_PUBLIC_JWK = JSON.stringify({ kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" });
