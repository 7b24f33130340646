import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { formatKitTimeStamp, formatV1TimeStamp } from "../../src/protocol/time-formats";
import { type MarketplaceAnswer, readAnswer, rowCounts, signV2 } from "./marketplace";
import { specV1AuthToken, specV1KitParams } from "./spec-signatures";

/*
 * Kit (V2 and V1) and V1 basic calls, signed exactly as the Marketplace signs them (spec §2.3, §5.1), and a way to
 * run the Worker with other bindings (a generated RSA key, ENABLE_V1=false, another access key).
 */

export type EnvOverrides = Partial<Record<keyof Cloudflare.Env, string>>;

/** Calls the Worker's own fetch with `overrides` laid over the test bindings. */
export async function fetchWith(request: Request, overrides: EnvOverrides): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export async function sendWith(request: Request, overrides: EnvOverrides, key: string): Promise<MarketplaceAnswer> {
  return readAnswer(await fetchWith(request, overrides), key);
}

// ---- RSA key pair of the seller (kit applicationSync) -----------------------------------------------------------

export interface SellerRsaKey {
  pem: string;
  /** What the Marketplace does with the public key the seller uploaded: Base64(RSA-OAEP(secret)). */
  encrypt(plaintext: string, hash?: "SHA-256" | "SHA-1"): Promise<string>;
}

/** WebCrypto-made, independent of the node:crypto code under test; 3072 bits as the spec demands. */
export async function makeSellerRsaKey(): Promise<SellerRsaKey> {
  const pair = (await crypto.subtle.generateKey(
    { name: "RSA-OAEP", modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["encrypt", "decrypt"],
  )) as CryptoKeyPair;
  const pkcs8 = Buffer.from((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer).toString("base64");
  const pem = `-----BEGIN PRIVATE KEY-----\n${(pkcs8.match(/.{1,64}/g) ?? []).join("\n")}\n-----END PRIVATE KEY-----\n`;
  const spki = (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer;
  return {
    pem,
    async encrypt(plaintext, hash = "SHA-256") {
      const publicKey = await crypto.subtle.importKey("spki", spki, { name: "RSA-OAEP", hash }, false, ["encrypt"]);
      return Buffer.from(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, publicKey, new TextEncoder().encode(plaintext))).toString("base64");
    },
  };
}

// ---- kit V2 -----------------------------------------------------------------------------------------------------

export interface KitSignOptions {
  key?: string;
  timestamp?: number | string;
  nonce?: string;
  contentType?: string;
}

/** UTC+8 yyyyMMddHHmmssSSS, the kit's `timeStamp` (§6). */
export const kitNow = (ms = Date.now()) => formatKitTimeStamp(ms);

/** POST /saas/produceAPI/v2/{name}, signature in x-sign / x-timestamp / x-nonce over the raw body (§2.3). */
export function signedKitV2Request(name: string, body: string | object, options: KitSignOptions = {}): Request {
  const { raw, timestamp, nonce, signature } = signV2(body, options.key ?? env.KIT_ACCESS_KEY, options, "KN");
  return new Request(`https://gateway.test/saas/produceAPI/v2/${name}`, {
    method: "POST",
    headers: {
      "Content-Type": options.contentType ?? "application/json;charset=utf8",
      "x-sign": signature,
      "x-timestamp": timestamp,
      "x-nonce": nonce,
    },
    body: raw,
  });
}

// ---- kit V1 -----------------------------------------------------------------------------------------------------

/** POST /saas/v1/produceAPI/{name}, `authToken` header over the body's top-level fields, blanks skipped (§5.1). */
export function signedKitV1Request(name: string, body: Record<string, unknown>, options: { key?: string; raw?: string } = {}): Request {
  const key = options.key ?? env.KIT_ACCESS_KEY;
  return new Request(`https://gateway.test/saas/v1/produceAPI/${name}`, {
    method: "POST",
    headers: { "Content-Type": "application/json;charset=utf8", authToken: specV1AuthToken(key, specV1KitParams(body)) },
    body: options.raw ?? JSON.stringify(body),
  });
}

// ---- V1 basic ---------------------------------------------------------------------------------------------------

/** UTC yyyyMMddHHmmssSSS, the V1 basic `timeStamp`. */
export const v1Now = (ms = Date.now()) => formatV1TimeStamp(ms);

/** GET /saas/v1?…&authToken=…, the token over the decoded parameters, empty ones included (§5.1). */
export function signedV1Get(params: Record<string, string>, options: { key?: string } = {}): Request {
  const key = options.key ?? env.SAAS_ACCESS_KEY;
  const all = { timeStamp: v1Now(), ...params };
  const query = new URLSearchParams({ ...all, authToken: specV1AuthToken(key, all) });
  return new Request(`https://gateway.test/saas/v1?${query}`, { method: "GET" });
}

/** Kit and V1 table row counts, to show that a refused call stored nothing. */
export function kitTableCounts(): Promise<Record<string, number>> {
  return rowCounts(["kit_tenants", "kit_applications", "kit_users", "kit_orgs", "inbox", "nonces", "instances", "audit_events"]);
}
