/*
 * id_tokens: RS256 JWS made with WebCrypto (RSASSA-PKCS1-v1_5 / SHA-256), the one algorithm every OIDC client
 * supports. The `kid` is the key's RFC 7638 thumbprint, so the same key always has the same id, and a rotation's
 * old and new keys never collide in the JWKS.
 */

const ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

export interface PublicJwk {
  kty: "RSA";
  n: string;
  e: string;
  kid: string;
  alg: "RS256";
  use: "sig";
}

interface SigningKey {
  privateKey: CryptoKey;
  jwk: PublicJwk;
}

const base64url = (bytes: ArrayBuffer | Uint8Array): string => Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString("base64url");

function pemDer(pem: string, label: "PRIVATE KEY" | "PUBLIC KEY"): Uint8Array {
  const body = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`).exec(pem)?.[1] ?? "";
  return Uint8Array.from(Buffer.from(body.replace(/\s+/g, ""), "base64"));
}

async function publicJwkOf(key: CryptoKey): Promise<PublicJwk> {
  const exported = (await crypto.subtle.exportKey("jwk", key)) as JsonWebKey;
  const n = exported.n ?? "";
  const e = exported.e ?? "";
  // RFC 7638: the required members in lexicographic order, no whitespace.
  const thumbprint = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`{"e":"${e}","kty":"RSA","n":"${n}"}`));
  return { kty: "RSA", n, e, kid: base64url(thumbprint), alg: "RS256", use: "sig" };
}

// Imports are async and a key never changes within an isolate: each PEM is imported once.
const signingKeys = new Map<string, Promise<SigningKey>>();
const publicKeys = new Map<string, Promise<{ key: CryptoKey; jwk: PublicJwk }>>();

function cached<T>(cache: Map<string, Promise<T>>, pem: string, make: () => Promise<T>): Promise<T> {
  const hit = cache.get(pem);
  if (hit) return hit;
  const made = make();
  cache.set(pem, made);
  made.catch(() => cache.delete(pem));
  return made;
}

export function signingKeyOf(pem: string): Promise<SigningKey> {
  return cached(signingKeys, pem, async () => {
    // Extractable only so that its public half can be exported for the JWKS; the private key never leaves this module.
    const privateKey = await crypto.subtle.importKey("pkcs8", pemDer(pem, "PRIVATE KEY"), ALGORITHM, true, ["sign"]);
    return { privateKey, jwk: await publicJwkOf(privateKey) };
  });
}

function publicKeyOf(pem: string): Promise<{ key: CryptoKey; jwk: PublicJwk }> {
  return cached(publicKeys, pem, async () => {
    const key = await crypto.subtle.importKey("spki", pemDer(pem, "PUBLIC KEY"), ALGORITHM, true, ["verify"]);
    return { key, jwk: await publicJwkOf(key) };
  });
}

/** The verification keys: the current one first, then the one before the last rotation. */
async function verificationKeys(keys: { signingKey: string; previousPublicKey?: string }): Promise<Array<{ key: CryptoKey; jwk: PublicJwk }>> {
  const current = await signingKeyOf(keys.signingKey);
  const currentPublic = await crypto.subtle.importKey("jwk", { kty: "RSA", n: current.jwk.n, e: current.jwk.e, alg: "RS256", ext: true }, ALGORITHM, true, [
    "verify",
  ]);
  const out = [{ key: currentPublic, jwk: current.jwk }];
  if (keys.previousPublicKey) out.push(await publicKeyOf(keys.previousPublicKey));
  return out;
}

export async function publishedJwks(keys: { signingKey: string; previousPublicKey?: string }): Promise<PublicJwk[]> {
  return (await verificationKeys(keys)).map((entry) => entry.jwk);
}

export async function signJwt(signingKeyPem: string, claims: Record<string, unknown>): Promise<string> {
  const { privateKey, jwk } = await signingKeyOf(signingKeyPem);
  const header = base64url(new TextEncoder().encode(JSON.stringify({ alg: "RS256", typ: "JWT", kid: jwk.kid })));
  const payload = base64url(new TextEncoder().encode(JSON.stringify(claims)));
  const signature = await crypto.subtle.sign(ALGORITHM, privateKey, new TextEncoder().encode(`${header}.${payload}`));
  return `${header}.${payload}.${base64url(signature)}`;
}

/**
 * The payload of a JWT this gateway signed (current or previous key), or undefined. Expiry is not checked: the one
 * use is logout's `id_token_hint`, which OpenID RP-Initiated Logout accepts after the token expired.
 */
export async function verifiedPayload(
  keys: { signingKey: string; previousPublicKey?: string },
  token: string,
): Promise<Record<string, unknown> | undefined> {
  const [header, payload, signature, ...rest] = token.split(".");
  if (header === undefined || payload === undefined || signature === undefined || rest.length > 0) return undefined;
  try {
    const parsedHeader = JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as { alg?: unknown; kid?: unknown };
    if (parsedHeader.alg !== "RS256") return undefined;
    const key = (await verificationKeys(keys)).find((entry) => entry.jwk.kid === parsedHeader.kid);
    if (!key) return undefined;
    const valid = await crypto.subtle.verify(ALGORITHM, key.key, Buffer.from(signature, "base64url"), new TextEncoder().encode(`${header}.${payload}`));
    if (!valid) return undefined;
    const claims: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    return typeof claims === "object" && claims !== null && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
