import { createHash } from "node:crypto";
import { ConfigurationError } from "../protocol/errors";

/**
 * The builtin licenses' Ed25519 keys, from the settings' PEM texts (validated in src/env.ts), as WebCrypto keys and
 * as the JWKs `/.well-known/jwks.json` publishes. Imported once per isolate: the PEM texts are the cache key.
 */

export interface PublicJwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
  kid: string;
  alg: "EdDSA";
  use: "sig";
}

export interface SigningKey {
  privateKey: CryptoKey;
  jwk: PublicJwk;
}

const ED25519 = { name: "Ed25519" } as const;

function derOf(pem: string, label: "PRIVATE KEY" | "PUBLIC KEY"): Uint8Array {
  const body = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`).exec(pem)?.[1];
  if (!body) throw new ConfigurationError(label === "PRIVATE KEY" ? "LICENSE_SIGNING_KEY" : "LICENSE_PREVIOUS_PUBLIC_KEY", "is not a PEM");
  return new Uint8Array(Buffer.from(body.replace(/\s+/g, ""), "base64"));
}

/** RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace; base64url. */
export function jwkThumbprint(x: string): string {
  return createHash("sha256").update(JSON.stringify({ crv: "Ed25519", kty: "OKP", x })).digest("base64url");
}

function publicJwk(x: string): PublicJwk {
  return { kty: "OKP", crv: "Ed25519", x, kid: jwkThumbprint(x), alg: "EdDSA", use: "sig" };
}

const signingKeys = new Map<string, Promise<SigningKey>>();
const publicKeys = new Map<string, Promise<PublicJwk>>();

export function importSigningKey(pem: string): Promise<SigningKey> {
  let key = signingKeys.get(pem);
  if (!key) {
    key = (async () => {
      // Extractable only to read the public half (`x`) off the private JWK: WebCrypto has no "public key of".
      const privateKey = await crypto.subtle.importKey("pkcs8", derOf(pem, "PRIVATE KEY"), ED25519, true, ["sign"]);
      const exported = (await crypto.subtle.exportKey("jwk", privateKey)) as JsonWebKey;
      if (!exported.x) throw new ConfigurationError("LICENSE_SIGNING_KEY", "has no public half");
      return { privateKey, jwk: publicJwk(exported.x) };
    })();
    key.catch(() => signingKeys.delete(pem));
    signingKeys.set(pem, key);
  }
  return key;
}

export function importPublicKey(pem: string): Promise<PublicJwk> {
  let key = publicKeys.get(pem);
  if (!key) {
    key = (async () => {
      const publicKey = await crypto.subtle.importKey("spki", derOf(pem, "PUBLIC KEY"), ED25519, true, ["verify"]);
      const exported = (await crypto.subtle.exportKey("jwk", publicKey)) as JsonWebKey;
      if (!exported.x) throw new ConfigurationError("LICENSE_PREVIOUS_PUBLIC_KEY", "has no key bytes");
      return publicJwk(exported.x);
    })();
    key.catch(() => publicKeys.delete(pem));
    publicKeys.set(pem, key);
  }
  return key;
}

/** The current key first, then the previous one (kept through a rotation); a key named twice is listed once. */
export async function publishedKeys(settings: { signingKey: string | undefined; previousPublicKey: string | undefined }): Promise<PublicJwk[]> {
  const keys: PublicJwk[] = [];
  if (settings.signingKey) keys.push((await importSigningKey(settings.signingKey)).jwk);
  if (settings.previousPublicKey) {
    const previous = await importPublicKey(settings.previousPublicKey);
    if (!keys.some((key) => key.kid === previous.kid)) keys.push(previous);
  }
  return keys;
}
