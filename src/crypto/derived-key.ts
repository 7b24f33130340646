import { hkdfSync } from "node:crypto";

const derived = new Map<string, Buffer>();

/**
 * A key of its own for one purpose, derived from DATA_KEY with HKDF-SHA-256 under that purpose's label (once per key
 * and label): a MAC or digest key is then useless for sealing, and the sealing key never leaves data-key.ts.
 */
export function derivedKey(dataKeyB64: string, label: string): Buffer {
  const cacheKey = `${label}\u0000${dataKeyB64}`;
  const cached = derived.get(cacheKey);
  if (cached) return cached;
  const key = Buffer.from(hkdfSync("sha256", Buffer.from(dataKeyB64.trim(), "base64"), new Uint8Array(), label, 32));
  derived.set(cacheKey, key);
  return key;
}
