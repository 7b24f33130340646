import type { SigningKey } from "./signing-keys";

/** The claims of a builtin license (README "Online licenses"); times in Unix seconds. */
export interface LicenseClaims {
  iss: string;
  sub: string;
  productId: string | null;
  skuCode: string | null;
  iat: number;
  nbf: number;
  exp?: number;
  /** Hex SHA-256 of the device fingerprint; absent when the request carried none. */
  fingerprint?: string;
  jti: string;
  /** Present (true) only on a debug license (testFlag 1): the seller's software must refuse it. */
  test?: true;
}

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64url");

/** RFC 7515 compact serialisation, alg EdDSA (RFC 8037), signed with WebCrypto: no JOSE dependency at run time. */
export async function signCompactJws(key: SigningKey, claims: LicenseClaims): Promise<string> {
  const header = b64url(JSON.stringify({ alg: "EdDSA", typ: "JWT", kid: key.jwk.kid }));
  const payload = b64url(JSON.stringify(claims));
  const input = `${header}.${payload}`;
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${b64url(new Uint8Array(signature))}`;
}
