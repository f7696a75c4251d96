// An authenticated Octokit: GITHUB_TOKEN, or a GitHub App installation token (App JWT signed with
// jose, exchanged for an installation token, cached until five minutes before it expires).
// Without either, GitHub features are off (null).
import { Octokit } from "@octokit/rest";
import { SignJWT, importPKCS8 } from "jose";
import type { Config } from "../config";
import type { SubrequestBudget as Budget } from "../rollout/budget";

/** The installation token is due but the invocation cannot afford its fetch: try on a later tick. */
export class BudgetSpent extends Error {
  constructor(what: string) {
    super(`subrequest budget spent: ${what} postponed`);
    this.name = "BudgetSpent";
  }
}

let installationToken: { key: string; token: string; expiresAt: number } | undefined;

/** `budget`: the App token fetch is a subrequest of the caller's invocation; without one it is not counted (a request of its own). */
export async function githubClient(config: Config, now: number = Date.now(), budget?: Budget): Promise<Octokit | null> {
  const baseUrl = config.GITHUB_API_URL.replace(/\/$/, "");
  if (config.GITHUB_TOKEN) return new Octokit({ auth: config.GITHUB_TOKEN, baseUrl, request: { fetch } });
  if (!config.GITHUB_APP_ID || !config.GITHUB_APP_PRIVATE_KEY || !config.GITHUB_APP_INSTALLATION_ID) return null;
  const key = `${config.GITHUB_APP_ID}:${config.GITHUB_APP_INSTALLATION_ID}`;
  if (!installationToken || installationToken.key !== key || installationToken.expiresAt - 5 * 60_000 < now) {
    if (budget && !budget.take(1, "github")) throw new BudgetSpent("GitHub App installation token");
    const appJwt = await appJwtFor(config.GITHUB_APP_ID, config.GITHUB_APP_PRIVATE_KEY, now);
    const app = new Octokit({ auth: appJwt, baseUrl, request: { fetch } });
    const { data } = await app.rest.apps.createInstallationAccessToken({ installation_id: Number(config.GITHUB_APP_INSTALLATION_ID) });
    installationToken = { key, token: data.token, expiresAt: Date.parse(data.expires_at) };
  }
  return new Octokit({ auth: installationToken.token, baseUrl, request: { fetch } });
}

/** The App JWT: RS256, iat 60 s in the past (GitHub's advice for clock drift), 9 minutes of life. */
export async function appJwtFor(appId: string, privateKeyPem: string, now: number): Promise<string> {
  const key = await importPKCS8(toPkcs8(privateKeyPem), "RS256");
  const iat = Math.floor(now / 1000) - 60;
  return new SignJWT({}).setProtectedHeader({ alg: "RS256" }).setIssuer(appId).setIssuedAt(iat).setExpirationTime(iat + 540).sign(key);
}

/**
 * GitHub hands out App keys as PKCS#1 ("BEGIN RSA PRIVATE KEY"); WebCrypto imports PKCS#8 only.
 * Wrapping is a fixed ASN.1 prefix: SEQUENCE { INTEGER 0, AlgorithmIdentifier rsaEncryption, OCTET STRING pkcs1 }.
 */
export function toPkcs8(pem: string): string {
  const text = pem.replace(/\\n/g, "\n").trim();
  if (!text.includes("BEGIN RSA PRIVATE KEY")) return text;
  const b64 = text.replace(/-----(BEGIN|END) RSA PRIVATE KEY-----/g, "").replace(/\s+/g, "");
  const pkcs1 = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  const algId = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
  const octet = [0x04, ...derLength(pkcs1.length), ...pkcs1];
  const body = [0x02, 0x01, 0x00, ...algId, ...octet];
  const der = Uint8Array.from([0x30, ...derLength(body.length), ...body]);
  let bin = "";
  for (const b of der) bin += String.fromCharCode(b);
  const lines = btoa(bin).match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join("\n")}\n-----END PRIVATE KEY-----`;
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}
