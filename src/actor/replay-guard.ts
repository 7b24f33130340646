import type { SignedNonce } from "../protocol/v2-signature";

const PREFIX = "nonce:";
/** Expired entries dropped per call: more than one arrives per call, so the store never grows past its window. */
const PRUNE_PER_CALL = 4;

/**
 * The replay check inside a Durable Object's own storage, for calls that reach one anyway: no D1 write, no extra
 * round trip. A replay carries the very same signed bytes (the signature covers nonce, timestamp and body), so it
 * names the same instance and reaches the same object. Keys sort by expiry, so the expired ones are found in order
 * and a few are deleted on every call. Synchronous storage: the write is durable before the object's answer leaves
 * it (output gate), so nothing is acknowledged before the nonce is stored.
 */
export function rememberNonce(kv: SyncKvStorage, nonce: SignedNonce, now: number): boolean {
  // Read first, then delete: the list is a cursor over the same storage.
  const expired = [...kv.list({ prefix: PREFIX, end: keyOf(now, ""), limit: PRUNE_PER_CALL })];
  for (const [key] of expired) kv.delete(key);
  // The expiry is part of the signed request (timestamp + tolerance), so a replay computes the same key.
  const key = keyOf(nonce.expiresAtMs, nonce.value);
  if (kv.get<number>(key) !== undefined) return false;
  kv.put(key, nonce.expiresAtMs);
  return true;
}

function keyOf(expiresAtMs: number, nonce: string): string {
  return `${PREFIX}${String(Math.max(0, Math.trunc(expiresAtMs))).padStart(16, "0")}:${nonce}`;
}
