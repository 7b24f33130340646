import { canonicalJson } from "./canonical-json";
import { type Bytes, hmacSha256, safeEqual } from "./hmac";

/**
 * Header signature of the NEW usage push, spec marketplace-open-apis §1.3 and README point 9:
 *   signature = Base64(HMAC-SHA256(sellerKey, "ts=" + ts + "&nonce=" + nonce + "&body=" + body))
 * sent as the headers `signature`, `ts` (Unix milliseconds) and `nonce`. The body part is the exact bytes we send,
 * produced by canonicalUsageBody. A type alias rather than an interface, so that it is assignable to a plain header
 * record (fetch init, HeaderSource).
 */
export type UsagePushHeaders = {
  signature: string;
  ts: string;
  nonce: string;
};

// §1.3: ts ≤ 20 characters, nonce ≤ 64. The nonce is further held to unreserved characters because an `&` or `=` in
// it would make the signed string ambiguous (`nonce=a&body=` could be read two ways). The ts is a Unix time written
// as one: digits without a leading zero (docs/lifecycle-rules.md "Signatures").
const TS = /^[1-9]\d{0,19}$/;
const NONCE = /^[A-Za-z0-9._~-]{1,64}$/;
const SIGNATURE = /^[A-Za-z0-9+/]{43}=$/;

const utf8 = new TextEncoder();

function signedMessage(ts: string, nonce: string, body: Bytes): Uint8Array {
  const prefix = utf8.encode(`ts=${ts}&nonce=${nonce}&body=`);
  const bodyBytes = typeof body === "string" ? utf8.encode(body) : body;
  const message = new Uint8Array(prefix.length + bodyBytes.length);
  message.set(prefix, 0);
  message.set(bodyBytes, prefix.length);
  return message;
}

export function createUsagePushSignature(key: string, body: Bytes, ts: string, nonce: string): string {
  return hmacSha256(key, signedMessage(ts, nonce, body)).toString("base64");
}

/** `body` must be the bytes that are sent: pass the output of canonicalUsageBody and send that same string. */
export function createUsagePushHeaders(key: string, body: Bytes, tsMs: number, nonce: string): UsagePushHeaders {
  if (!key) throw new TypeError("usage push key must be non-empty");
  if (!Number.isSafeInteger(tsMs) || tsMs < 1) throw new RangeError("ts must be a positive integer of Unix milliseconds");
  if (!NONCE.test(nonce)) throw new TypeError("nonce must be 1–64 characters of A–Z a–z 0–9 . _ ~ -");
  const ts = String(tsMs);
  return { signature: createUsagePushSignature(key, body, ts, nonce), ts, nonce };
}

/** Fetch `Headers`, or a plain record as node:http gives (any name case; a repeated header arrives as an array). */
export type HeaderSource = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

function headerValue(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const values = Object.entries(headers).filter(([key]) => key.toLowerCase() === name);
  if (values.length !== 1) return undefined;
  const value = values[0]?.[1];
  // A repeated header is refused outright rather than picking one of its values.
  return typeof value === "string" ? value : undefined;
}

/**
 * Checks the signature only (constant time); freshness of `ts` and nonce reuse are the caller's concern. Any missing,
 * repeated or malformed header is a plain `false`, as a wrong signature is.
 */
export function verifyUsagePushHeaders(key: string, body: Bytes, headers: HeaderSource): boolean {
  const signature = headerValue(headers, "signature");
  const ts = headerValue(headers, "ts");
  const nonce = headerValue(headers, "nonce");
  if (!key || signature === undefined || ts === undefined || nonce === undefined) return false;
  if (!TS.test(ts) || !NONCE.test(nonce) || !SIGNATURE.test(signature)) return false;
  return safeEqual(createUsagePushSignature(key, body, ts, nonce), signature);
}

/**
 * THE reading of "此处body按自然排序后参与签名" (§1.3: the body takes part in the signature "after natural sorting";
 * the official demo is truncated in every copy, spec §7 open question 1). Our reading, in this one place:
 *   - object keys sorted at every level in Java's natural String order, which is UTF-16 code-unit order (the same as
 *     JavaScript's default sort), so `"10"` sorts before `"9"`; array order is data and is kept;
 *   - compact JSON, no whitespace; strings escaped as JSON.stringify does, non-ASCII left as is (UTF-8 on the wire);
 *   - we sign exactly these bytes and send exactly these bytes, so whatever the Marketplace re-sorts, it finds the
 *     order already sorted.
 * The serialisation itself is canonicalJson (values JSON cannot carry faithfully are refused).
 */
export function canonicalUsageBody(value: unknown): string {
  return canonicalJson(value);
}
