// GitHub Actions OIDC: the pure verifier of CI's bearer tokens. No I/O but the injected key
// resolver, no clock but `now`; returns a tagged Result whose `reason` is for the log only.
// The trust policy is data compiled once from the configuration (octo-sts style): the issuer,
// audience and repository ids it trusts, and per environment the refs allowed to deploy.
import { errors, jwtVerify } from "jose";
import { z } from "zod";
import type { Config } from "../config";
import type { KeyResolver } from "./jwks";

/** exp / nbf / iat may be off by this much (GitHub's and Cloudflare's clocks are both NTP-synced). */
export const CLOCK_SKEW_SECONDS = 60;
/** A token issued longer ago than this is refused even if its exp says otherwise. */
export const MAX_TOKEN_AGE_SECONDS = 60 * 60;

export interface TrustPolicy {
  issuer: string;
  audience: string;
  repositoryId: string;
  repositoryOwnerId: string;
  /** owner/name: for logs only, names can be re-registered */
  repository: string;
  /** environment name → refs allowed to deploy it (exact match, no patterns) */
  deployRefs: ReadonlyMap<string, ReadonlySet<string>>;
  /** environment name → what else its tokens must carry (issue 12); absent: nothing else */
  bindings?: ReadonlyMap<string, EnvironmentBinding>;
}

export interface EnvironmentBinding {
  /** require_github_environment: the `environment` claim must be exactly this */
  githubEnvironment?: string;
  /** workflow_refs: the `job_workflow_ref` claim must be exactly one of these */
  workflowRefs?: ReadonlySet<string>;
}

const compiled = new WeakMap<Config, TrustPolicy>();

/** The policy of a configuration, compiled once (loadConfig memoizes the Config object). */
export function trustPolicy(config: Config): TrustPolicy {
  let p = compiled.get(config);
  if (!p) {
    p = {
      issuer: config.GITHUB_OIDC_ISSUER,
      audience: config.GITHUB_OIDC_AUDIENCE,
      repositoryId: config.GITHUB_REPOSITORY_ID,
      repositoryOwnerId: config.GITHUB_REPOSITORY_OWNER_ID,
      repository: config.GITHUB_REPOSITORY,
      deployRefs: new Map(Object.values(config.ENVIRONMENTS).map((e) => [e.name, new Set(e.deploy_refs)])),
      bindings: new Map(
        Object.values(config.ENVIRONMENTS).map((e) => [
          e.name,
          { ...(e.require_github_environment ? { githubEnvironment: e.github_environment } : {}), ...(e.workflow_refs ? { workflowRefs: new Set(e.workflow_refs) } : {}) },
        ]),
      ),
    };
    compiled.set(config, p);
  }
  return p;
}

const numericString = z.string().regex(/^[0-9]+$/);

/** The claims GitHub puts in an Actions OIDC token that this coordinator relies on. */
export const GithubOidcClaimsSchema = z
  .object({
    iss: z.string(),
    aud: z.string(),
    sub: z.string(),
    jti: z.string().min(1).max(200),
    iat: z.number(),
    nbf: z.number(),
    exp: z.number(),
    repository: z.string(),
    repository_id: numericString,
    repository_owner: z.string(),
    repository_owner_id: numericString,
    run_id: numericString,
    run_attempt: numericString,
    actor: z.string().min(1),
    event_name: z.string().min(1),
    ref: z.string().min(1),
    sha: z.string(),
    run_number: z.string().optional(),
    actor_id: z.string().optional(),
    workflow: z.string().optional(),
    workflow_ref: z.string().optional(),
    ref_type: z.string().optional(),
    environment: z.string().optional(),
    job_workflow_ref: z.string().optional(),
  })
  .loose();
export type GithubOidcClaims = z.infer<typeof GithubOidcClaimsSchema>;

export type OidcResult = { ok: true; claims: GithubOidcClaims } | { ok: false; reason: string; status: 401 | 403 };

const refuse = (status: 401 | 403, reason: string): OidcResult => ({ ok: false, status, reason });

/**
 * Verifies a GitHub Actions OIDC token: RS256 signature by a key of the issuer's JWKS, exact
 * iss and aud, time claims within CLOCK_SKEW_SECONDS, and the configured repository and owner ids.
 * With `request`, also whether that token may deploy that SHA to that environment (authorizeDeploy).
 * `jti` single use is not checked here: the coordinator consumes it with the deploy insert.
 */
export async function verifyGithubOidc(
  token: string,
  policy: TrustPolicy,
  opts: { now: number; jwks: KeyResolver; request?: { environment: string; sha: string } },
): Promise<OidcResult> {
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, opts.jwks, {
      algorithms: ["RS256"],
      issuer: policy.issuer,
      audience: policy.audience,
      currentDate: new Date(opts.now),
      clockTolerance: CLOCK_SKEW_SECONDS,
      maxTokenAge: MAX_TOKEN_AGE_SECONDS,
      requiredClaims: ["exp", "nbf", "iat", "jti"],
    }));
  } catch (e) {
    return refuse(401, joseReason(e));
  }
  const parsed = GithubOidcClaimsSchema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return refuse(401, `claim ${issue.path.join(".")}: ${issue.message}`);
  }
  const claims = parsed.data;
  // jose accepts an aud array containing ours; GitHub sends one string, and we want exactly it
  if (claims.aud !== policy.audience) return refuse(401, `aud ${JSON.stringify(claims.aud)} is not ${policy.audience}`);
  if (claims.repository_id !== policy.repositoryId || claims.repository_owner_id !== policy.repositoryOwnerId) {
    return refuse(
      401,
      `token of repository ${claims.repository} (id ${claims.repository_id}, owner id ${claims.repository_owner_id}); ` +
        `trusted: ${policy.repository} (id ${policy.repositoryId}, owner id ${policy.repositoryOwnerId})`,
    );
  }
  if (opts.request) {
    const denied = authorizeDeploy(claims, policy, opts.request);
    if (denied) return denied;
  }
  return { ok: true, claims };
}

/**
 * May this (already verified) token deploy `sha` to `environment`? Null when yes, else a 403.
 * Pull-request runs never deploy: their code is not yet reviewed into a deploy ref. With
 * require_github_environment the job must run in the environment's GitHub environment (so its
 * reviewers and wait timers ran), and with workflow_refs it must be one of those workflows at
 * that ref: another job on main with `id-token: write` cannot deploy around them.
 */
export function authorizeDeploy(claims: GithubOidcClaims, policy: TrustPolicy, request: { environment: string; sha: string }): OidcResult | null {
  if (claims.event_name.startsWith("pull_request")) return refuse(403, `event ${claims.event_name} may not deploy`);
  const refs = policy.deployRefs.get(request.environment);
  if (!refs?.has(claims.ref)) return refuse(403, `ref ${claims.ref} is not in deploy_refs of ${request.environment}`);
  if (claims.sha !== request.sha) return refuse(403, `body sha ${request.sha} is not the token's sha ${claims.sha}`);
  const binding = policy.bindings?.get(request.environment);
  if (binding?.githubEnvironment !== undefined && claims.environment !== binding.githubEnvironment) {
    return refuse(403, `environment claim ${JSON.stringify(claims.environment ?? null)} is not github_environment ${JSON.stringify(binding.githubEnvironment)} of ${request.environment} (require_github_environment)`);
  }
  if (binding?.workflowRefs && !(claims.job_workflow_ref !== undefined && binding.workflowRefs.has(claims.job_workflow_ref))) {
    return refuse(403, `job_workflow_ref ${JSON.stringify(claims.job_workflow_ref ?? null)} is not in workflow_refs of ${request.environment}`);
  }
  return null;
}

function joseReason(e: unknown): string {
  if (e instanceof errors.JWTExpired) return `token expired (${e.claim}: ${e.message})`;
  if (e instanceof errors.JWTClaimValidationFailed) return `claim ${e.claim} refused: ${e.message}`;
  if (e instanceof errors.JOSEAlgNotAllowed) return `algorithm not allowed: ${e.message}`;
  if (e instanceof errors.JWKSNoMatchingKey) return "no key in the JWKS matches the token's kid";
  if (e instanceof errors.JWSSignatureVerificationFailed) return "signature does not verify";
  if (e instanceof errors.JOSEError) return `${e.code}: ${e.message}`;
  return `token not verifiable: ${String(e)}`;
}
