import { env } from "cloudflare:workers";
import fc from "fast-check";
import { createV2Signature } from "../../../src/protocol/v2-signature";
import { specV1AuthToken, specV1KitParams } from "../../support/spec-signatures";

/*
 * A fuzz case is plain data (so fast-check prints and shrinks it), turned into a Request only when it is sent: the
 * signature is made then, over the case's final bytes, with a fresh timestamp and nonce. A case whose tamper is
 * "none" carries a valid signature whatever its body, so mutated bodies reach the schema layer, not just the
 * signature check.
 */

/** The secrets a case can be signed with: binding names, read from the test env when the case is built. */
export type KeyName = "SAAS_ACCESS_KEY" | "KIT_ACCESS_KEY" | "LICENSE_ACCESS_KEY" | "GENERAL_ACCESS_KEY" | "SELLER_API_TOKEN" | "ADMIN_TOKEN";

export type Scheme =
  /** V2 basic: signature, timestamp, nonce in the query (§2.3). */
  | "v2-query"
  /** V2 kit: x-sign, x-timestamp, x-nonce headers (§2.3). */
  | "v2-headers"
  /** V1 basic GET: authToken in the query over every other parameter (§5.1). */
  | "v1-query"
  /** V1 kit POST: authToken header over the body's top-level fields (§5.1). */
  | "v1-header"
  | "bearer"
  | "none";

export type Tamper = "none" | "bad-signature" | "wrong-key" | "stale-timestamp" | "future-timestamp" | "missing" | "body-after-signing";

export interface CaseSpec {
  method: string;
  path: string;
  query: Array<[string, string]>;
  headers: Array<[string, string]>;
  body: string | null;
  scheme: Scheme;
  key: KeyName | null;
  tamper: Tamper;
}

const TAMPERS: Tamper[] = ["bad-signature", "wrong-key", "stale-timestamp", "future-timestamp", "missing", "body-after-signing"];

/** Valid signing most of the time, so most cases reach the layers behind the signature check. */
export const tamperArb: fc.Arbitrary<Tamper> = fc.oneof({ weight: 4, arbitrary: fc.constant<Tamper>("none") }, { weight: 1, arbitrary: fc.constantFrom(...TAMPERS) });

const nasty = fc.constantFrom("", " ", "0", "1", "-1", "null", "true", "\u0000", "٣", "💥".repeat(40), "a".repeat(65), "%00", "../..", "20261301000000", "99999999999999", "<script>");
/** Strings that probe lengths, encodings and formats, beside fast-check's own. */
export const stringish = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: "binary", maxLength: 40 }), nasty);
/** Any JSON value, plus the strings above. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, { weight: 2, arbitrary: stringish });

const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,19}$/);
const headerValue = fc.oneof(fc.stringMatching(/^[ -~]{0,60}$/), nasty.filter((s) => /^[ -~]*$/.test(s)));
export const extraHeaders = fc.array(fc.tuple(headerName, headerValue), { maxLength: 3 });
export const extraQuery = fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("signature", "timestamp", "nonce", "authToken", "activity", "cursor", "limit")), stringish.map(String)), { maxLength: 3 });
export const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant("application/json;charset=utf8") },
  { weight: 1, arbitrary: fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=gbk", "multipart/form-data; boundary=x") },
);

export type Mutation = "delete" | "replace" | "add" | "duplicate-key" | "as-array" | "wrap";

/** One structural change to a valid body: the schema must refuse or accept it, never crash on it. */
export function mutated(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  return fc
    .tuple(valid, fc.constantFrom<Mutation>("delete", "replace", "replace", "replace", "add", "duplicate-key", "as-array", "wrap"), fc.nat(), anyValue, fc.string({ maxLength: 12 }))
    .map(([body, mutation, index, value, newKey]) => {
      const keys = Object.keys(body);
      const key = keys[index % Math.max(keys.length, 1)] ?? "activity";
      switch (mutation) {
        case "delete": {
          const { [key]: _dropped, ...rest } = body;
          return JSON.stringify(rest);
        }
        case "replace":
          return JSON.stringify({ ...body, [key]: value });
        case "add":
          return JSON.stringify({ ...body, [newKey]: value });
        case "duplicate-key":
          // JSON.parse keeps the last: the signature covers both, the parser sees one.
          return `${JSON.stringify(body).slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(value)}}`;
        case "as-array":
          return JSON.stringify([body]);
        case "wrap":
          return JSON.stringify({ data: body });
      }
    });
}

/** Bodies for a signed JSON route: valid, mutated from valid, random JSON, and not JSON at all. */
export function bodyArb(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 60, arbitrary: valid.map((body) => JSON.stringify(body)) },
    { weight: 120, arbitrary: mutated(valid) },
    { weight: 20, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? "null") },
    { weight: 20, arbitrary: fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 200 }), fc.constantFrom("", "{", "{}", "[]", "null", '{"activity":', "\uFEFF{}")) },
    // Past the body limit (64 KiB basic, 1 MiB kit): refused before it is parsed.
    { weight: 1, arbitrary: fc.constantFrom(70_000, 1_100_000).map((n) => JSON.stringify({ activity: "newInstance", pad: "x".repeat(n) })) },
  );
}

const keyValue = (key: KeyName | null): string => (key ? String(env[key]) : "");

function timestampFor(tamper: Tamper, format: "ms" | "v1"): string {
  const offset = tamper === "stale-timestamp" ? -3_600_000 : tamper === "future-timestamp" ? 3_600_000 : 0;
  const at = Date.now() + offset;
  if (format === "ms") return String(at);
  const d = new Date(at);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}${pad(d.getUTCMilliseconds(), 3)}`;
}

let nonceCounter = 0;

/** The Request of a case, signed now. */
export function buildRequest(spec: CaseSpec): Request {
  const secret = spec.tamper === "wrong-key" ? `${keyValue(spec.key)}-wrong` : keyValue(spec.key);
  const headers = new Headers();
  for (const [name, value] of spec.headers) headers.append(name, value);
  const query = new URLSearchParams(spec.query);
  const body = spec.body;
  const sent = spec.tamper === "body-after-signing" && body !== null ? `${body} ` : body;
  switch (spec.scheme) {
    case "v2-query":
    case "v2-headers": {
      nonceCounter += 1;
      const timestamp = timestampFor(spec.tamper, "ms");
      const nonce = `FZ${Date.now().toString(36)}${nonceCounter.toString(36)}`.toUpperCase();
      let signature = createV2Signature(secret, body ?? "", timestamp, nonce);
      if (spec.tamper === "bad-signature") signature = signature.replace(/^./, (c) => (c === "A" ? "B" : "A"));
      if (spec.tamper !== "missing") {
        if (spec.scheme === "v2-query") {
          query.set("signature", signature);
          query.set("timestamp", timestamp);
          query.set("nonce", nonce);
        } else {
          headers.set("x-sign", signature);
          headers.set("x-timestamp", timestamp);
          headers.set("x-nonce", nonce);
        }
      }
      break;
    }
    case "v1-query": {
      const params = Object.fromEntries(query);
      params.timeStamp ??= timestampFor(spec.tamper, "v1");
      const signed = new URLSearchParams(params);
      if (spec.tamper !== "missing") {
        let token = specV1AuthToken(secret, params);
        if (spec.tamper === "bad-signature" || spec.tamper === "body-after-signing") token = `${token.slice(0, -2)}AA`;
        signed.set("authToken", token);
      }
      return new Request(`https://gateway.test${spec.path}?${signed}`, { method: spec.method, headers });
    }
    case "v1-header": {
      let params: Record<string, string> = {};
      try {
        const parsed: unknown = JSON.parse(body ?? "");
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) params = specV1KitParams(parsed as Record<string, unknown>);
      } catch {
        // Not JSON: signed over no parameters, as a sender that failed to parse it would.
      }
      if (spec.tamper !== "missing") {
        let token = specV1AuthToken(secret, params);
        if (spec.tamper === "bad-signature") token = `${token.slice(0, -2)}AA`;
        headers.set("authToken", token);
      }
      break;
    }
    case "bearer":
      if (spec.tamper !== "missing") headers.set("Authorization", spec.tamper === "none" ? `Bearer ${secret}` : `Bearer ${secret}x`);
      break;
    case "none":
      break;
  }
  const search = query.size > 0 ? `?${query}` : "";
  const hasBody = sent !== null && spec.method !== "GET" && spec.method !== "HEAD";
  return new Request(`https://gateway.test${spec.path}${search}`, { method: spec.method, headers, body: hasBody ? sent : undefined });
}
