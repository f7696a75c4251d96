// Generators of hostile input shared by the adversarial tests: mutations of a JWT (bytes,
// segments, header, payload), of a signature header, and of bodies. Each mutation is applied to a
// valid original, so a test can say "everything but the original is refused".
import fc from "fast-check";
import { base64url } from "jose";

export const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** characters a mutation may put into a token or header: the alphabet, separators, padding, and worse */
export const HOSTILE_CHARS = [...B64URL, ".", "=", "+", "/", " ", "\t", "\n", "%", "\\", '"', "\u0000", "é", "€", "😀", "\u200b", "ｅ"];

export type TokenMutation =
  | { kind: "replace"; pos: number; ch: string }
  | { kind: "insert"; pos: number; s: string }
  | { kind: "delete"; pos: number; len: number }
  | { kind: "truncate"; at: number }
  | { kind: "segments"; op: "drop-signature" | "empty-signature" | "drop-payload" | "swap" | "extra" | "only-one" | "double-dot" | "whitespace" | "lowercase" | "uppercase" | "reverse-signature" }
  | { kind: "header"; header: Record<string, unknown> }
  | { kind: "payload"; patch: Record<string, unknown> }
  | { kind: "encoding"; op: "std-base64" | "padded" | "url-encoded" | "json-in-segment" };

const headerArb = fc.record(
  {
    alg: fc.constantFrom("none", "None", "NONE", "HS256", "HS512", "RS512", "PS256", "ES256", "EdDSA", "RS256", "", null, 1),
    kid: fc.oneof(fc.constantFrom("k1", "k2", "rogue", "", "../../etc/passwd", "k1 ", "K1"), fc.string({ maxLength: 40 })),
    typ: fc.constantFrom("JWT", "at+jwt", "", undefined),
    jku: fc.constantFrom("http://127.0.0.1:9/jwks", undefined),
    x5u: fc.constantFrom("http://127.0.0.1:9/cert", undefined),
    crit: fc.constantFrom(["exp"], ["b64"], undefined),
    b64: fc.constantFrom(false, undefined),
    jwk: fc.constantFrom({ kty: "oct", k: "AAAA" }, undefined),
  },
  { requiredKeys: ["alg"] },
);

const claimValueArb = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
);

const payloadPatchArb = fc.dictionary(
  fc.constantFrom("iss", "aud", "sub", "jti", "iat", "nbf", "exp", "repository", "repository_id", "repository_owner_id", "ref", "sha", "run_id", "run_attempt", "actor", "event_name", "__proto__", "constructor"),
  claimValueArb,
  { minKeys: 1, maxKeys: 3 },
);

export const tokenMutationArb: fc.Arbitrary<TokenMutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("replace" as const), pos: fc.nat(), ch: fc.constantFrom(...HOSTILE_CHARS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("insert" as const), pos: fc.nat(), s: fc.string({ unit: fc.constantFrom(...HOSTILE_CHARS), minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("segments" as const),
      op: fc.constantFrom("drop-signature", "empty-signature", "drop-payload", "swap", "extra", "only-one", "double-dot", "whitespace", "lowercase", "uppercase", "reverse-signature"),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("header" as const), header: headerArb as fc.Arbitrary<Record<string, unknown>> }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("payload" as const), patch: payloadPatchArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("encoding" as const), op: fc.constantFrom("std-base64", "padded", "url-encoded", "json-in-segment") }) },
);

const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
const dec = (s: string) => JSON.parse(new TextDecoder().decode(base64url.decode(s)));

export function mutateToken(token: string, m: TokenMutation): string {
  const [h, p, s] = token.split(".");
  switch (m.kind) {
    case "replace": {
      const i = m.pos % token.length;
      return token.slice(0, i) + m.ch + token.slice(i + 1);
    }
    case "insert": {
      const i = m.pos % (token.length + 1);
      return token.slice(0, i) + m.s + token.slice(i);
    }
    case "delete": {
      const i = m.pos % token.length;
      return token.slice(0, i) + token.slice(i + m.len);
    }
    case "truncate":
      return token.slice(0, m.at % token.length);
    case "segments":
      switch (m.op) {
        case "drop-signature":
          return `${h}.${p}`;
        case "empty-signature":
          return `${h}.${p}.`;
        case "drop-payload":
          return `${h}..${s}`;
        case "swap":
          return `${p}.${h}.${s}`;
        case "extra":
          return `${h}.${p}.${s}.${s}`;
        case "only-one":
          return p;
        case "double-dot":
          return `${h}..${p}.${s}`;
        case "whitespace":
          return ` ${token}\n`;
        case "lowercase":
          return token.toLowerCase();
        case "uppercase":
          return token.toUpperCase();
        case "reverse-signature":
          return `${h}.${p}.${[...s].reverse().join("")}`;
      }
      break;
    case "header":
      return `${enc(m.header)}.${p}.${m.header.alg === "none" || m.header.alg === "None" ? "" : s}`;
    case "payload": {
      const claims = dec(p);
      // JSON.parse-like own properties, so "__proto__" becomes a real key of the encoded payload
      const patched = JSON.parse(JSON.stringify({ ...claims }));
      for (const [k, v] of Object.entries(m.patch)) Object.defineProperty(patched, k, { value: v, enumerable: true, configurable: true, writable: true });
      return `${h}.${enc(patched)}.${s}`;
    }
    case "encoding":
      switch (m.op) {
        case "std-base64":
          return token.replace(/-/g, "+").replace(/_/g, "/") + (token.includes("-") || token.includes("_") ? "" : "+");
        case "padded":
          return [h, p, s].map((x) => x + "=".repeat((4 - (x.length % 4)) % 4 || 4)).join(".");
        case "url-encoded":
          return encodeURIComponent(`${h}.${p}.${s}`).replace(/\./g, "%2E");
        case "json-in-segment":
          return `${JSON.stringify(dec(h))}.${p}.${s}`;
      }
  }
  return token;
}

/**
 * True when `mutated` decodes to exactly the bytes of `original` segment by segment, with the
 * decoder the verifier itself uses: base64url has spare bits in a segment's last character, and
 * the decoder (atob underneath) skips ASCII whitespace and accepts padding, so a few mutations are
 * the same signed token spelt differently. Those are not hostile input — the signature covers the
 * same bytes and the jti still makes them single use — and the tests expect them to verify.
 */
export function sameToken(original: string, mutated: string): boolean {
  if (original === mutated) return true;
  const a = original.split(".");
  const b = mutated.split(".");
  if (a.length !== b.length) return false;
  try {
    return a.every((seg, i) => {
      const x = base64url.decode(seg);
      const y = base64url.decode(b[i]);
      return x.length === y.length && x.every((v, j) => v === y[j]);
    });
  } catch {
    return false;
  }
}

/** Mutations of an HMAC signature header whose only valid form is `prefix` + 64 lowercase hex. */
export type SignatureMutation =
  | { kind: "replace"; pos: number; ch: string }
  | { kind: "truncate"; at: number }
  | { kind: "append"; s: string }
  | { kind: "case" }
  | { kind: "prefix"; prefix: string }
  | { kind: "whitespace"; where: "before" | "after" | "inside" }
  | { kind: "other"; value: string }
  | { kind: "list" };

export const signatureMutationArb: fc.Arbitrary<SignatureMutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("replace" as const), pos: fc.nat(), ch: fc.constantFrom(..."0123456789abcdefABCDEF=gx ", "\u0000", "é") }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("append" as const), s: fc.string({ minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("case" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("prefix" as const), prefix: fc.constantFrom("", "sha1=", "SHA256=", "sha256:", "sha512=", "v0=", "v1=", "sha256=sha256=") }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("whitespace" as const), where: fc.constantFrom("before", "after", "inside") }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("other" as const), value: fc.oneof(fc.string({ maxLength: 80 }), fc.stringMatching(/^(sha256|v0)=[0-9a-f]{64}$/)) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("list" as const) }) },
);

export function mutateSignature(sig: string, m: SignatureMutation, prefix: string): string {
  switch (m.kind) {
    case "replace": {
      const i = m.pos % sig.length;
      return sig.slice(0, i) + m.ch + sig.slice(i + 1);
    }
    case "truncate":
      return sig.slice(0, m.at % sig.length);
    case "append":
      return sig + m.s;
    case "case":
      return sig.toUpperCase();
    case "prefix":
      return m.prefix + sig.slice(prefix.length);
    case "whitespace":
      return m.where === "before" ? ` ${sig}` : m.where === "after" ? `${sig} ` : `${sig.slice(0, 20)} ${sig.slice(20)}`;
    case "other":
      return m.value;
    case "list":
      return `${sig}, ${sig}`;
  }
}

/** Mutations of a body (as bytes of a UTF-8 string). */
export type BodyMutation =
  | { kind: "flip"; pos: number; bit: number }
  | { kind: "insert"; pos: number; s: string }
  | { kind: "delete"; pos: number; len: number }
  | { kind: "append"; s: string }
  | { kind: "replace-all"; s: string };

export const bodyMutationArb: fc.Arbitrary<BodyMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("flip" as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("insert" as const), pos: fc.nat(), s: fc.string({ minLength: 1, maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("append" as const), s: fc.constantFrom(" ", "\n", "\u0000", "&x=1", ",", "}") }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("replace-all" as const), s: fc.string({ maxLength: 60 }) }) },
);

const te = new TextEncoder();

/** The mutated body as bytes; never equal to the original (a no-op flip is not generated: a bit always changes). */
export function mutateBody(body: string, m: BodyMutation): Uint8Array {
  const b = te.encode(body);
  switch (m.kind) {
    case "flip": {
      const out = b.slice();
      const i = m.pos % out.length;
      out[i] ^= 1 << m.bit;
      return out;
    }
    case "insert": {
      const i = m.pos % (b.length + 1);
      return concat(b.slice(0, i), te.encode(m.s), b.slice(i));
    }
    case "delete": {
      const i = m.pos % b.length;
      return concat(b.slice(0, i), b.slice(i + m.len));
    }
    case "append":
      return concat(b, te.encode(m.s));
    case "replace-all":
      return te.encode(m.s);
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Hostile JSON values for a request body: any JSON, prototype-pollution keys, near-miss shapes, odd unicode. */
export function hostileJsonArb(valid: { environment: string; sha: string }): fc.Arbitrary<string> {
  const protoKeys = fc.constantFrom("__proto__", "constructor", "prototype", "__defineGetter__", "toString", "hasOwnProperty");
  const nearMissSha = fc.oneof(
    fc.constant(valid.sha.toUpperCase()),
    fc.constant(valid.sha.slice(0, 39)),
    fc.constant(`${valid.sha}0`),
    fc.constant(` ${valid.sha}`),
    fc.constant(`${valid.sha}\n`),
    fc.constant(valid.sha.replace(/[0-9]/, "０")), // fullwidth digit
    fc.constant(valid.sha.slice(0, 7)),
    fc.stringMatching(/^[0-9a-f]{40}$/).map((s) => s.replace(/^./, "g")),
    fc.string({ maxLength: 50 }),
  );
  const nearMissEnv = fc.oneof(fc.constant(valid.environment.toUpperCase()), fc.constant(`${valid.environment} `), fc.constant(""), fc.string({ maxLength: 20 }), fc.constant("x".repeat(101)), fc.constant("__proto__"), fc.constant("constructor"));
  const anyValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));
  return fc.oneof(
    { weight: 3, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 2, arbitrary: fc.record({ environment: fc.oneof(nearMissEnv, anyValue), sha: fc.oneof(nearMissSha, anyValue) }).map((o) => JSON.stringify(o)) },
    { weight: 1, arbitrary: fc.record({ environment: fc.constant(valid.environment), sha: nearMissSha }).map((o) => JSON.stringify(o)) },
    { weight: 1, arbitrary: fc.record({ environment: nearMissEnv, sha: fc.constant(valid.sha) }).map((o) => JSON.stringify(o)) },
    // the valid body plus a hostile key (strict objects refuse unknown keys; __proto__ must not pollute)
    { weight: 2, arbitrary: fc.tuple(protoKeys, anyValue).map(([k, v]) => `{"environment":${JSON.stringify(valid.environment)},"sha":"${valid.sha}",${JSON.stringify(k)}:${JSON.stringify(v)}}`) },
    { weight: 1, arbitrary: fc.tuple(protoKeys).map(([k]) => `{${JSON.stringify(k)}:{"environment":${JSON.stringify(valid.environment)},"sha":"${valid.sha}","polluted":true}}`) },
    // duplicate keys: the last one wins in JSON.parse; a refused value must still be refused
    { weight: 1, arbitrary: nearMissSha.map((s) => `{"environment":${JSON.stringify(valid.environment)},"sha":"${valid.sha}","sha":${JSON.stringify(s)}}`) },
    // not JSON at all
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("", " ", "{", "[]", "null", "\ufeff{}", "{'environment':'x'}", "NaN")) },
    // unicode around the valid values
    { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 3 }).map((u) => JSON.stringify({ environment: `${valid.environment}${u}`, sha: valid.sha })) },
  );
}

/** Does this raw body denote exactly a valid deploy request for `valid.environment`? (the oracle) */
export function isValidDeployBody(raw: string, valid: { environment: string; sha: string }): boolean {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return false;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  if (keys.length !== 2 || !keys.includes("environment") || !keys.includes("sha")) return false;
  const o = v as Record<string, unknown>;
  return o.environment === valid.environment && typeof o.sha === "string" && /^[0-9a-f]{40}$/.test(o.sha);
}
