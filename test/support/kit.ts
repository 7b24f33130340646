import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { formatKitTimeStamp, formatV1TimeStamp } from "../../src/protocol/time-formats";
import { type MarketplaceAnswer, expireTime, readAnswer, rowCounts, signV2, uniqueId } from "./marketplace";
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

let lastKitTime = 0;

/**
 * UTC+8 yyyyMMddHHmmssSSS, the kit's `timeStamp` (§6). Without an argument each call is at least 1 ms after the one
 * before: syncs are ordered by these times (docs/kit-rules.md), and workerd's clock stands still between I/O, so two
 * syncs sent one after the other would otherwise often share a time.
 */
export function kitNow(ms?: number): string {
  if (ms !== undefined) return formatKitTimeStamp(ms);
  lastKitTime = Math.max(Date.now(), lastKitTime + 1);
  return formatKitTimeStamp(lastKitTime);
}

/** A fixed past moment plus `seconds`: for tests that send syncs out of order on purpose. */
export function kitTimeAt(base: number, seconds: number): string {
  return formatKitTimeStamp(base + seconds * 1000);
}

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

// ---- kit bodies, stored rows and the seller API -------------------------------------------------------------

export interface KitTestScope {
  instanceId: string;
  tenantId: string;
}

export function newKitScope(): KitTestScope {
  return { instanceId: uniqueId("I").toLowerCase(), tenantId: uniqueId("T") };
}

export const tenantBody = (s: KitTestScope, overrides: Record<string, unknown> = {}) => ({
  instanceId: s.instanceId,
  orderId: uniqueId("CS"),
  tenantId: s.tenantId,
  tenantCode: `code-${s.tenantId}`,
  name: "Example Co.",
  domainName: "https://example.auth.example.com",
  flag: 1,
  testFlag: 0,
  timeStamp: kitNow(),
  ...overrides,
});

export const kitUser = (userName: string, overrides: Record<string, unknown> = {}) => ({
  userName,
  name: `Name ${userName}`,
  position: "engineer",
  orgCode: "ORG-1",
  role: "user",
  enable: "true",
  employeeCode: `E-${userName}`,
  mobile: "13800000000",
  email: `${userName}@example.com`,
  extension: { entryDate: "2024-05-7", employeeType: "1", workPlace: "Shenzhen" },
  ...overrides,
});

export const authBody = (s: KitTestScope, users: unknown, flag: number, overrides: Record<string, unknown> = {}) => ({
  instanceId: s.instanceId,
  tenantId: s.tenantId,
  appId: "app-1",
  userList: users,
  currentSyncTime: kitNow(),
  flag,
  testFlag: 0,
  timeStamp: kitNow(),
  ...overrides,
});

export const orgBody = (s: KitTestScope, orgCode: string, flag: number, overrides: Record<string, unknown> = {}) => ({
  instanceId: s.instanceId,
  tenantId: s.tenantId,
  orgCode,
  orgName: `Dept ${orgCode}`,
  parentCode: "",
  flag,
  testFlag: 0,
  timeStamp: kitNow(),
  ...overrides,
});

/** Live rows of a kit table in one scope (tombstones left out), in key order. */
export async function kitRows(table: string, s: KitTestScope): Promise<Record<string, unknown>[]> {
  const result = await env.DB.prepare(`SELECT * FROM ${table} WHERE instance_id = ? AND tenant_id = ? AND deleted_at IS NULL ORDER BY 4, 5`)
    .bind(s.instanceId, s.tenantId)
    .all<Record<string, unknown>>();
  return result.results;
}

/** Tombstones (rows of deleted entities) of a kit table in one scope. */
export async function kitTombstones(table: string, s: KitTestScope): Promise<Record<string, unknown>[]> {
  const result = await env.DB.prepare(`SELECT * FROM ${table} WHERE instance_id = ? AND tenant_id = ? AND deleted_at IS NOT NULL ORDER BY 4, 5`)
    .bind(s.instanceId, s.tenantId)
    .all<Record<string, unknown>>();
  return result.results;
}

export function sellerGet(path: string, token = env.SELLER_API_TOKEN) {
  return sendSeller(new Request(`https://gateway.test${path}`, { headers: { Authorization: `Bearer ${token}` } }));
}

export async function sendSeller(request: Request) {
  const response = await sendRaw(request);
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

export async function sendRaw(request: Request): Promise<Response> {
  const { exports } = await import("cloudflare:workers");
  return exports.default.fetch(request);
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

// Fixed for the whole test file: a retry of a purchase carries the same expiry, and must not straddle a second boundary.
const V1_PURCHASE_EXPIRY = expireTime(new Date(Date.now() + 365 * 86400_000));

/** A V1 newInstance's parameters (a monthly real purchase unless overridden), before signing. */
export function makeV1NewInstance(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    activity: "newInstance",
    customerId: "cust-0001",
    customerName: "Buyer Co.",
    businessId: crypto.randomUUID(),
    orderId: uniqueId("CS"),
    skuCode: "sku-basic",
    productId: "prod-monthly",
    chargingMode: "1",
    periodType: "month",
    periodNumber: "1",
    expireTime: V1_PURCHASE_EXPIRY,
    testFlag: "0",
    ...overrides,
  };
}
