import { createCipheriv, createDecipheriv, createHash } from "node:crypto";
import { InternalError, InvalidRequestError } from "./errors";

/**
 * V1 sensitive-field encryption, spec saas-production-interface §5.2: value = IV (16 alphanumeric characters, used
 * as their ASCII bytes) + Base64(AES-CBC/PKCS5Padding(UTF-8 plaintext)). encryptType "1" = AES-256 (the default),
 * "2" = AES-128. The Marketplace encrypts `mobilePhone`/`email` this way and decrypts our `userName`/`password`.
 */
export type V1EncryptType = "1" | "2";

const IV_LENGTH = 16;
const AES_BLOCK = 16;
const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// ignoreBOM keeps a leading U+FEFF, as Java's new String(bytes, UTF_8) does.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function keyBytes(encryptType: V1EncryptType): 32 | 16 {
  switch (encryptType) {
    case "1":
      return 32;
    case "2":
      return 16;
    default: {
      const unknown: never = encryptType;
      throw new InternalError(`unknown V1 encryptType ${String(unknown)}`);
    }
  }
}

function cipherName(encryptType: V1EncryptType): "aes-256-cbc" | "aes-128-cbc" {
  return keyBytes(encryptType) === 32 ? "aes-256-cbc" : "aes-128-cbc";
}

/**
 * The AES key Java gets from `SecureRandom.getInstance("SHA1PRNG")` seeded with `accessKey.getBytes()` and then
 * `KeyGenerator.getInstance("AES").init(bits, sr).generateKey()`: the first 16 or 32 bytes SHA1PRNG emits.
 * Proven against JDK 17 output in test/fixtures/v1-aes-vectors.json.
 */
export function deriveV1Key(accessKey: string, encryptType: V1EncryptType): Uint8Array {
  const length = keyBytes(encryptType);
  // Seeding before first use replaces the state outright (OpenJDK engineSetSeed with state == null), so no
  // system entropy is mixed in and the output is a pure function of the access key. Java's getBytes() uses the
  // platform charset; we take UTF-8 (the Linux default, and fixed from JDK 18). Access keys are ASCII in practice.
  const state = sha1(new TextEncoder().encode(accessKey));
  const output = new Uint8Array(length);
  for (let filled = 0; filled < length; ) {
    const block = sha1(state);
    updateState(state, block);
    const take = Math.min(block.length, length - filled);
    output.set(block.subarray(0, take), filled);
    filled += take;
  }
  return output;
}

function sha1(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha1").update(data).digest());
}

/**
 * OpenJDK sun.security.provider.SecureRandom.updateState: state = state + output + 1 as little-endian bytes, but
 * with Java's *signed* bytes, so the carry is `v >> 8` of a signed sum (-1, 0 or 1), not the unsigned carry. If the
 * state would not change at all, Java bumps its first byte.
 */
function updateState(state: Uint8Array, output: Uint8Array): void {
  let carry = 1;
  let changed = false;
  for (let i = 0; i < state.length; i++) {
    const sum = signed(state[i] ?? 0) + signed(output[i] ?? 0) + carry;
    const byte = sum & 0xff;
    changed ||= state[i] !== byte;
    state[i] = byte;
    carry = sum >> 8;
  }
  if (!changed) state[0] = ((state[0] ?? 0) + 1) & 0xff;
}

function signed(byte: number): number {
  return byte > 127 ? byte - 256 : byte;
}

/** 16 random alphanumerics; rejection sampling keeps every character equally likely (248 = 4 * 62). */
function randomIv(): string {
  let iv = "";
  while (iv.length < IV_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(32))) {
      if (byte < 248 && iv.length < IV_LENGTH) iv += ALPHANUMERIC[byte % ALPHANUMERIC.length];
    }
  }
  return iv;
}

/** `iv` exists for deterministic tests; production calls leave it out and get a fresh random one. */
export function encryptV1Field(accessKey: string, plaintext: string, encryptType: V1EncryptType, iv: string = randomIv()): string {
  if (!/^[A-Za-z0-9]{16}$/.test(iv)) throw new InternalError("V1 field IV must be 16 alphanumeric characters");
  const cipher = createCipheriv(cipherName(encryptType), deriveV1Key(accessKey, encryptType), Buffer.from(iv, "latin1"));
  // workerd's Cipheriv.update wants a Buffer (or an explicit encoding) where Node would default to UTF-8.
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(plaintext, "utf8")), cipher.final()]);
  return iv + ciphertext.toString("base64");
}

/**
 * Throws InvalidRequestError for anything that is not IV + Base64 of whole AES blocks, or that does not decrypt to
 * valid PKCS#5 padding and UTF-8 under this access key (the usual sign of a wrong key or a wrong encryptType).
 */
export function decryptV1Field(accessKey: string, value: string, encryptType: V1EncryptType, fieldName = "encrypted field"): string {
  // FAQ (as for authToken): a `+` the sender did not URL-encode arrives as a space; Base64 never contains spaces.
  const text = value.replace(/ /g, "+");
  const iv = text.slice(0, IV_LENGTH);
  const body = text.slice(IV_LENGTH);
  if (text.length < IV_LENGTH + 24) {
    throw new InvalidRequestError(`${fieldName} is too short to be a 16-character IV plus Base64 AES ciphertext`);
  }
  if (!/^[\x21-\x7e]{16}$/.test(iv) || !BASE64.test(body)) {
    throw new InvalidRequestError(`${fieldName} is not a 16-character IV followed by Base64 AES ciphertext`);
  }
  const ciphertext = Buffer.from(body, "base64");
  if (ciphertext.length % AES_BLOCK !== 0) {
    throw new InvalidRequestError(`${fieldName} ciphertext is not a whole number of AES blocks`);
  }
  const undecryptable = new InvalidRequestError(
    `${fieldName} could not be decrypted with the configured access key and encryptType ${encryptType}`,
  );
  let plain: Buffer;
  try {
    const decipher = createDecipheriv(cipherName(encryptType), deriveV1Key(accessKey, encryptType), Buffer.from(iv, "latin1"));
    plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw undecryptable;
  }
  // A wrong key still yields valid padding about once in 256 tries; garbage is almost never valid UTF-8.
  try {
    return strictUtf8.decode(plain);
  } catch {
    throw undecryptable;
  }
}
