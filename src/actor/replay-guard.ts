import type { SignedNonce } from "../protocol/v2-signature";

const PREFIX = "nonce:";
/**
 * Expired entries are looked for on every PRUNE_EVERY-th store, up to PRUNE_LIMIT of them: more than one per store,
 * so the store never grows past its window, without a storage scan on every call.
 */
const PRUNE_EVERY = 8;
const PRUNE_LIMIT = 32;

/**
 * The replay check inside a Durable Object's own storage, for calls that reach one anyway: no D1 write, no extra
 * round trip. A replay carries the very same signed bytes (the signature covers nonce, timestamp and body), so it
 * names the same instance and reaches the same object. Keys sort by expiry, so the expired ones are found in order
 * and a few are deleted on every call. Synchronous storage: the write is durable before the object's answer leaves
 * it (output gate), so nothing is acknowledged before the nonce is stored.
 *
 * A call admitted here is refused to its replays at once (in memory) and stored later, in the same synchronous turn
 * as the call's own writes, so the two commit as one storage transaction instead of two (a create's largest cost after
 * its D1 batch). Memory is enough until then: an object that dies before storing it never answered the call either.
 */
export class ReplayGuard {
  /** Admitted and not stored yet: key → expiry. */
  private readonly admitted = new Map<string, number>();
  private storesSincePrune = 0;

  constructor(private readonly kv: SyncKvStorage) {}

  /** The nonce's key when it was never seen (nothing is written yet: see `store`); undefined for a replay. */
  admit(nonce: SignedNonce): string | undefined {
    // The expiry is part of the signed request (timestamp + tolerance), so a replay computes the same key.
    const key = keyOf(nonce.expiresAtMs, nonce.value);
    if (this.admitted.has(key) || this.kv.get<number>(key) !== undefined) return undefined;
    this.admitted.set(key, nonce.expiresAtMs);
    return key;
  }

  /** Writes an admitted nonce (and drops a few expired ones); inside the caller's own transaction when it has one. */
  store(key: string, now: number): void {
    const expiresAtMs = this.admitted.get(key);
    if (expiresAtMs === undefined) return;
    if (this.storesSincePrune++ % PRUNE_EVERY === 0) {
      // Read first, then delete: the list is a cursor over the same storage.
      const expired = [...this.kv.list({ prefix: PREFIX, end: keyOf(now, ""), limit: PRUNE_LIMIT })];
      for (const [old] of expired) this.kv.delete(old);
    }
    this.kv.put(key, expiresAtMs);
    this.admitted.delete(key);
  }

  /** Admit and store at once: for calls that write nothing else. */
  remember(nonce: SignedNonce, now: number): boolean {
    const key = this.admit(nonce);
    if (key === undefined) return false;
    this.store(key, now);
    return true;
  }
}

function keyOf(expiresAtMs: number, nonce: string): string {
  return `${PREFIX}${String(Math.max(0, Math.trunc(expiresAtMs))).padStart(16, "0")}:${nonce}`;
}
