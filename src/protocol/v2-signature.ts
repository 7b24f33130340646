import { AuthError } from "./errors";
import { type Bytes, hmacSha256, safeEqual } from "./hmac";

/**
 * V2 request signature (basic interface: query `signature`/`timestamp`/`nonce`; kit: `x-sign`/`x-timestamp`/`x-nonce`).
 * spec saas-production-interface §2.2–2.3, README point 1:
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

/**
 * Unix time as digits without a leading zero: nonce and timestamp are signed side by side with no separator, so a
 * leading zero would let a captured call's trailing nonce digit move into its timestamp (same signature, same time,
 * "new" nonce). docs/lifecycle-rules.md "Signatures".
 */
const UNIX_TIME = /^[1-9]\d{0,15}$/;

/**
 * The one other way to move digits across the nonce/timestamp border and keep the time fresh: a seconds timestamp
 * that, with the nonce's last digits in front, is also a fresh millisecond one ("180" + "1801801802" is
 * 1801801801802 ms, 0.2 s from 1801801802 s). It happens for about two minutes every 116 days; in that window a
 * seconds timestamp whose nonce ends in the matching digits is refused, so only the millisecond reading, the one the
 * Marketplace sends, is ever accepted.
 */
function readsTwoWays(nonce: string, timestamp: string, fresh: (ms: number) => boolean): boolean {
  if (timestampToMs(timestamp) === Number(timestamp)) return false;
  // A re-cut keeps at least one character of nonce: an empty one is refused as missing anyway.
  for (let moved = 1; moved <= Math.min(nonce.length - 1, 16 - timestamp.length); moved += 1) {
    const digits = nonce.slice(-moved);
    if (!/^\d+$/.test(digits)) return false;
    const candidate = `${digits}${timestamp}`;
    if (UNIX_TIME.test(candidate) && fresh(timestampToMs(candidate))) return true;
  }
  return false;
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
  if (!UNIX_TIME.test(timestamp)) throw new AuthError("timestamp has a leading zero");
  if (nonce.length > MAX_NONCE_LENGTH) throw new AuthError("nonce is too long");
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) throw new AuthError("signature is not 64 hex characters");
  const timestampMs = timestampToMs(timestamp);
  const skewMs = nowMs - timestampMs;
  if (Math.abs(skewMs) > toleranceMs) {
    throw new AuthError(skewMs > 0 ? "timestamp is too old" : "timestamp is in the future", `skew ${skewMs} ms`);
  }
  if (readsTwoWays(nonce, timestamp, (ms) => Math.abs(nowMs - ms) <= toleranceMs)) {
    throw new AuthError("timestamp in seconds could also be read as milliseconds with the nonce's last digits");
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
