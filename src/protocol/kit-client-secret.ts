import { constants, createHash, createPrivateKey, type KeyObject, privateDecrypt } from "node:crypto";
import { ConfigurationError, InvalidRequestError } from "./errors";

/**
 * Kit `applicationSync.clientSecret`, spec saas-production-interface §6.2 and README point 8: Base64 of RSA-OAEP
 * ciphertext under the public key the seller uploaded (>= 3072 bits). The OAEP digest is not documented.
 */
export type OaepHash = "SHA-256" | "SHA-1";

export interface KitClientSecret {
  plaintext: string;
  /** OAEP label digest that worked; record it, so that the open question in the spec gets its answer. */
  hash: OaepHash;
  /** MGF1 digest that worked. Differs from `hash` only for Java's default SHA-256 OAEP, see ATTEMPTS. */
  mgf1Hash: OaepHash;
}

const SETTING = "KIT_RSA_PRIVATE_KEY";
const UNDECRYPTABLE = `clientSecret could not be decrypted with the configured ${SETTING}`;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// ignoreBOM keeps a leading U+FEFF, as Java's new String(bytes, UTF_8) does.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * SHA-256 first, then SHA-1, as the spec asks. The third is what a Java sender gets from
 * `Cipher.getInstance("RSA/ECB/OAEPWithSHA-256AndMGF1Padding")` without explicit parameters: SunJCE then keeps MGF1
 * on SHA-1 (checked with JDK 17, test/fixtures/kit-client-secret-java.json). Neither WebCrypto nor Node's
 * privateDecrypt can express that mix, so it is decoded by hand from the raw RSA result.
 */
const ATTEMPTS: readonly { hash: OaepHash; mgf1Hash: OaepHash }[] = [
  { hash: "SHA-256", mgf1Hash: "SHA-256" },
  { hash: "SHA-1", mgf1Hash: "SHA-1" },
  { hash: "SHA-256", mgf1Hash: "SHA-1" },
];

// One entry per configured key; parsing a 4096-bit PEM on every kit call would be wasted work.
const keys = new Map<string, KeyObject>();

function privateKey(pem: string | undefined): KeyObject {
  if (pem === undefined || pem.trim() === "") throw new ConfigurationError(SETTING, "is not set");
  const cached = keys.get(pem);
  if (cached) return cached;
  // Secret stores and .dev.vars often hold the PEM on one line with literal `\n`.
  const text = pem.replace(/\\n/g, "\n").trim();
  if (!/^-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----$/.test(text)) {
    throw new ConfigurationError(SETTING, "is not a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)");
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: "pem" });
  } catch {
    throw new ConfigurationError(SETTING, "could not be parsed as a PKCS#8 private key");
  }
  if (key.asymmetricKeyType !== "rsa") {
    throw new ConfigurationError(SETTING, `is a ${String(key.asymmetricKeyType)} key, not RSA`);
  }
  keys.set(pem, key);
  return key;
}

/**
 * Throws ConfigurationError (000005) when the key setting is missing or unusable, InvalidRequestError (000002)
 * when the value is not Base64 or decrypts under none of the OAEP variants. No message carries the secret.
 */
export function decryptKitClientSecret(privateKeyPem: string | undefined, clientSecret: string): KitClientSecret {
  const key = privateKey(privateKeyPem);
  // Java's MIME encoder wraps lines; Base64 itself never contains whitespace.
  const text = clientSecret.replace(/\s+/g, "");
  if (text === "" || !BASE64.test(text)) throw new InvalidRequestError("clientSecret is not Base64 RSA ciphertext");
  const ciphertext = Buffer.from(text, "base64");
  for (const attempt of ATTEMPTS) {
    const plain = decryptWith(key, ciphertext, attempt.hash, attempt.mgf1Hash);
    if (plain === undefined) continue;
    // OAEP's label-hash check makes a decode under the wrong variant practically impossible, so a success here is
    // the variant the sender used; a secret that is not text is then simply unusable.
    try {
      return { plaintext: strictUtf8.decode(plain), ...attempt };
    } catch {
      throw new InvalidRequestError(UNDECRYPTABLE, `RSA-OAEP ${attempt.hash}/MGF1-${attempt.mgf1Hash} gave bytes that are not UTF-8`);
    }
  }
  throw new InvalidRequestError(
    UNDECRYPTABLE,
    `RSA-OAEP failed with ${ATTEMPTS.map((a) => `${a.hash}/MGF1-${a.mgf1Hash}`).join(", ")} on ${ciphertext.length} bytes`,
  );
}

function nodeHash(hash: OaepHash): "sha256" | "sha1" {
  return hash === "SHA-256" ? "sha256" : "sha1";
}

function decryptWith(key: KeyObject, ciphertext: Buffer, hash: OaepHash, mgf1Hash: OaepHash): Uint8Array | undefined {
  try {
    if (hash === mgf1Hash) {
      return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: nodeHash(hash) }, ciphertext);
    }
    const encoded = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, ciphertext);
    return oaepDecode(encoded, hash, mgf1Hash);
  } catch {
    return undefined;
  }
}

/**
 * EME-OAEP decoding, RFC 8017 §7.1.2 step 3, empty label. Every check is made before deciding, and every failure
 * looks the same to the caller, so the answer reveals no more than "did not decrypt" (kit calls are also
 * HMAC-authenticated, so no stranger can use us as a padding oracle).
 */
function oaepDecode(encoded: Uint8Array, hash: OaepHash, mgf1Hash: OaepHash): Uint8Array | undefined {
  const labelHash = digest(hash, new Uint8Array(0));
  const hLen = labelHash.length;
  if (encoded.length < 2 * hLen + 2) return undefined;
  const maskedSeed = encoded.subarray(1, 1 + hLen);
  const maskedDb = encoded.subarray(1 + hLen);
  const seed = xor(maskedSeed, mgf1(maskedDb, hLen, mgf1Hash));
  const db = xor(maskedDb, mgf1(seed, maskedDb.length, mgf1Hash));
  let bad = encoded[0] ?? 1;
  for (let i = 0; i < hLen; i++) bad |= (db[i] ?? 0) ^ (labelHash[i] ?? 0);
  let messageStart = 0;
  for (let i = hLen; i < db.length; i++) {
    const byte = db[i] ?? 0;
    if (messageStart === 0 && byte === 1) messageStart = i + 1;
    else if (messageStart === 0 && byte !== 0) bad |= 1;
  }
  if (messageStart === 0) bad |= 1;
  return bad === 0 ? db.slice(messageStart) : undefined;
}

function mgf1(seed: Uint8Array, length: number, hash: OaepHash): Uint8Array {
  const mask = new Uint8Array(length);
  const counter = new Uint8Array(4);
  for (let filled = 0, n = 0; filled < length; n++) {
    new DataView(counter.buffer).setUint32(0, n);
    const block = createHash(nodeHash(hash)).update(seed).update(counter).digest();
    const take = Math.min(block.length, length - filled);
    mask.set(block.subarray(0, take), filled);
    filled += take;
  }
  return mask;
}

function digest(hash: OaepHash, data: Uint8Array): Uint8Array {
  return createHash(nodeHash(hash)).update(data).digest();
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((byte, i) => byte ^ (b[i] ?? 0));
}
