import { hkdfSync } from "node:crypto";

/** Its own HKDF label: the inbox digest key is useless for sealing, and the sealing key never leaves data-key.ts. */
const LABEL = "koogallery-gateway inbox request digest v1";

const derived = new Map<string, Uint8Array>();

/** The key of `receivedBodyHmac` in inbox rows (src/protocol/personal-fields.ts), derived once per DATA_KEY. */
export function inboxDigestKey(dataKeyB64: string): Uint8Array {
  let key = derived.get(dataKeyB64);
  if (!key) {
    key = new Uint8Array(hkdfSync("sha256", Buffer.from(dataKeyB64.trim(), "base64"), new Uint8Array(), LABEL, 32));
    derived.set(dataKeyB64, key);
  }
  return key;
}
