import { AuthError } from "./errors";
import { type Bytes, hmacSha256, safeEqual } from "./hmac";

/**
 * V2 request signature (basic interface: query `signature`/`timestamp`/`nonce`; kit: `x-sign`/`x-timestamp`/`x-nonce`).
 * spec saas-production-interface.md §2.2–2.3, README point 1:
 *   signature = Hex(HMAC(key, key + nonce + timestamp + lowerHex(HMAC(key, rawBody))))
 * over the raw body bytes as received; compared case-insensitively in constant time.
 */
export function createV2Signature(accessKey: string, rawBody: Bytes, timestamp: string, nonce: string): string {
  const bodyMac = hmacSha256(accessKey, rawBody).toString("hex");
  return hmacSha256(accessKey, accessKey + nonce + timestamp + bodyMac)
    .toString("hex")
    .toUpperCase();
}

export interface SignedRequestParts {
  signature: string | null;
  timestamp: string | null;
  nonce: string | null;
}

/** A verified request's nonce and the time after which a replay of it fails the freshness check anyway. */
export interface SignedNonce {
  value: string;
  expiresAtMs: number;
}

/** A nonce cache: `remember` returns false when the nonce was already seen inside its lifetime. */
export interface ReplayStore {
  remember(nonce: string, expiresAtMs: number): Promise<boolean>;
}

/** The spec says ms; intl pages say s. A value under 10^12 can only be seconds (README point 1). */
export function timestampToMs(timestamp: string): number {
  const value = Number(timestamp);
  return value < 1e12 ? value * 1000 : value;
}

const MAX_NONCE_LENGTH = 128;

/**
 * Checks everything that needs no storage: presence, format, freshness, HMAC. Returns the nonce's expiry, after
 * which a replay would fail the freshness check anyway, so the store can forget it.
 */
export function verifyV2Signature(
  accessKey: string,
  rawBody: Bytes,
  parts: SignedRequestParts,
  nowMs: number,
  toleranceMs: number,
): { nonce: string; nonceExpiresAtMs: number } {
  const { signature, timestamp, nonce } = parts;
  if (!signature || !timestamp || !nonce) {
    const missing = (["signature", "timestamp", "nonce"] as const).filter((name) => !parts[name]);
    throw new AuthError(`missing ${missing.join(", ")}`);
  }
  if (!/^\d{1,16}$/.test(timestamp)) throw new AuthError("timestamp is not a Unix time");
  if (nonce.length > MAX_NONCE_LENGTH) throw new AuthError("nonce is too long");
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) throw new AuthError("signature is not 64 hex characters");
  const timestampMs = timestampToMs(timestamp);
  const skewMs = nowMs - timestampMs;
  if (Math.abs(skewMs) > toleranceMs) {
    throw new AuthError(skewMs > 0 ? "timestamp is too old" : "timestamp is in the future", `skew ${skewMs} ms`);
  }
  const expected = createV2Signature(accessKey, rawBody, timestamp, nonce);
  if (!safeEqual(expected, signature.toUpperCase())) throw new AuthError("signature does not match");
  return { nonce, nonceExpiresAtMs: timestampMs + toleranceMs };
}

/** Full verification: the stateless checks, then the replay check, only for a request that is otherwise valid. */
export async function verifyV2Request(
  accessKey: string,
  rawBody: Bytes,
  parts: SignedRequestParts,
  nowMs: number,
  toleranceMs: number,
  replays: ReplayStore,
): Promise<void> {
  const { nonce, nonceExpiresAtMs } = verifyV2Signature(accessKey, rawBody, parts, nowMs, toleranceMs);
  if (!(await replays.remember(nonce, nonceExpiresAtMs))) throw new AuthError("nonce was already used (replay)");
}

export function basicSignatureParts(url: URL): SignedRequestParts {
  return {
    signature: url.searchParams.get("signature"),
    timestamp: url.searchParams.get("timestamp"),
    nonce: url.searchParams.get("nonce"),
  };
}

export function kitSignatureParts(headers: Headers): SignedRequestParts {
  return { signature: headers.get("x-sign"), timestamp: headers.get("x-timestamp"), nonce: headers.get("x-nonce") };
}
