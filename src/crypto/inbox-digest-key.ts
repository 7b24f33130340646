import { derivedKey } from "./derived-key";

/** The key of `receivedBodyHmac` in inbox rows (src/protocol/personal-fields.ts). */
export function inboxDigestKey(dataKeyB64: string): Uint8Array {
  return derivedKey(dataKeyB64, "koogallery-gateway inbox request digest v1");
}
