import { ConfigurationError, InternalError } from "../protocol/errors";

/**
 * Sealing of secrets we store (access credentials, client secrets, buyer fields) under the `DATA_KEY` setting (Base64
 * of 32 bytes): AES-256-GCM with a fresh 96-bit IV each time, written as `v2.<base64 iv>.<base64 ciphertext+tag>`.
 *
 * Every value is bound to its owner: `context` (say `"instance:<id>:adminPassword"`) is the additional authenticated
 * data, so a sealed value copied into another row, or used for another purpose, fails to open. The version prefix
 * tells the formats apart:
 * - `v2`: always bound to the context passed (every value sealed from 0.3.0 on);
 * - `v1`: the first format, bound to a context or to none, as its caller sealed it (`V1Binding`). Kit client secrets
 *   and order snapshots were bound from the start; instance passwords were not, and are re-sealed as v2 by the daily
 *   clean-up (src/instances/admin-password.ts). v1 values keep opening meanwhile.
 */
const VERSION = "v2";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED = /^(v[12])\.([A-Za-z0-9+/]{16})\.((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)$/;

/** How a value in the first format (v1) was sealed: with the same context as today, or with none. */
export type V1Binding = "context" | "none";

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

export async function sealSecret(dataKeyB64: string, plaintext: string, context: string): Promise<string> {
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
 * stored data we cannot open is our fault, never the caller's. `v1` says how a first-format value was bound.
 */
export async function openSecret(dataKeyB64: string, sealed: string, context: string, v1: V1Binding = "context"): Promise<string> {
  const key = await dataKey(dataKeyB64);
  const match = SEALED.exec(sealed);
  const version = match?.[1];
  const ivText = match?.[2];
  const bodyText = match?.[3];
  if (version === undefined || ivText === undefined || bodyText === undefined) throw new InternalError("sealed secret is not in the v2.<iv>.<data> format");
  const body = Buffer.from(bodyText, "base64");
  if (body.length < TAG_BYTES) throw new InternalError("sealed secret is shorter than its authentication tag");
  const boundTo = version === "v1" && v1 === "none" ? undefined : context;
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: Buffer.from(ivText, "base64"), tagLength: TAG_BYTES * 8, ...aad(boundTo) },
      key,
      body,
    );
  } catch {
    throw new InternalError("sealed secret failed authentication (tampered, or sealed under another DATA_KEY or context)");
  }
  return new TextDecoder().decode(plain);
}
