import { ConfigurationError, InternalError } from "../protocol/errors";

/**
 * Sealing of secrets we store (access credentials, client secrets) under the `DATA_KEY` setting (Base64 of 32
 * bytes): AES-256-GCM with a fresh 96-bit IV each time, written as `v1.<base64 iv>.<base64 ciphertext+tag>`.
 * The version prefix lets a later format or key rotation be told apart from rows sealed today.
 *
 * `context` is bound in as additional authenticated data: a value sealed for one row or purpose (say
 * `"instance:<id>:password"`) then fails to open anywhere else, so copying sealed values between rows is caught.
 * Pass the same context to both calls; leave it out on both if there is none.
 */
const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED = /^v1\.([A-Za-z0-9+/]{16})\.((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)$/;

// Importing is async and the key never changes within an isolate, so each key string is imported once.
const keys = new Map<string, Promise<CryptoKey>>();

function dataKey(dataKeyB64: string): Promise<CryptoKey> {
  const cached = keys.get(dataKeyB64);
  if (cached) return cached;
  const raw = decodeKey(dataKeyB64);
  const imported = crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
  keys.set(dataKeyB64, imported);
  // A rejected import must not stay cached, or one bad moment would poison every later call.
  imported.catch(() => keys.delete(dataKeyB64));
  return imported;
}

function decodeKey(dataKeyB64: string): Uint8Array {
  const text = dataKeyB64.trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) {
    throw new ConfigurationError("DATA_KEY", "must be base64 of exactly 32 bytes (openssl rand -base64 32)");
  }
  return Uint8Array.from(Buffer.from(text, "base64"));
}

function aad(context: string | undefined): { additionalData?: Uint8Array } {
  return context === undefined ? {} : { additionalData: new TextEncoder().encode(context) };
}

export async function sealSecret(dataKeyB64: string, plaintext: string, context?: string): Promise<string> {
  const key = await dataKey(dataKeyB64);
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, tagLength: TAG_BYTES * 8, ...aad(context) },
    key,
    new TextEncoder().encode(plaintext),
  );
  return `${VERSION}.${Buffer.from(iv).toString("base64")}.${Buffer.from(sealed).toString("base64")}`;
}

/**
 * Throws InternalError when the value is malformed, was tampered with, was sealed under another key or context:
 * stored data we cannot open is our fault, never the caller's.
 */
export async function openSecret(dataKeyB64: string, sealed: string, context?: string): Promise<string> {
  const key = await dataKey(dataKeyB64);
  const match = SEALED.exec(sealed);
  const ivText = match?.[1];
  const bodyText = match?.[2];
  if (ivText === undefined || bodyText === undefined) throw new InternalError("sealed secret is not in the v1.<iv>.<data> format");
  const body = Buffer.from(bodyText, "base64");
  if (body.length < TAG_BYTES) throw new InternalError("sealed secret is shorter than its authentication tag");
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: Buffer.from(ivText, "base64"), tagLength: TAG_BYTES * 8, ...aad(context) },
      key,
      body,
    );
  } catch {
    throw new InternalError("sealed secret failed authentication (tampered, or sealed under another DATA_KEY or context)");
  }
  return new TextDecoder().decode(plain);
}
