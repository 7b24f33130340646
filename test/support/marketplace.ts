import { env, exports } from "cloudflare:workers";
import { verifyBodySign } from "../../src/protocol/body-sign";
import { createV2Signature } from "../../src/protocol/v2-signature";

let counter = 0;
/** Unique per call and per test file run, like the Marketplace's random nonces. */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter.toString(36)}${Math.random().toString(36).slice(2, 8)}`.toUpperCase();
}

export interface SignOptions {
  key?: string;
  timestamp?: number | string;
  nonce?: string;
  contentType?: string;
  signature?: string;
  path?: string;
}

/** A V2 basic call signed exactly as the Marketplace signs it: over the raw body bytes, params in the query. */
export function signedV2Request(body: string | object, options: SignOptions = {}): Request {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const key = options.key ?? env.SAAS_ACCESS_KEY;
  const timestamp = String(options.timestamp ?? Date.now());
  const nonce = options.nonce ?? uniqueId("N");
  const signature = options.signature ?? createV2Signature(key, raw, timestamp, nonce);
  const query = new URLSearchParams({ signature, timestamp, nonce });
  return new Request(`https://gateway.test${options.path ?? "/saas"}?${query}`, {
    method: "POST",
    headers: { "Content-Type": options.contentType ?? "application/json;charset=utf8", Accept: "application/json" },
    body: raw,
  });
}

export interface MarketplaceAnswer {
  status: number;
  text: string;
  json: Record<string, unknown> & { resultCode: string; resultMsg?: string };
  bodySignValid: boolean;
}

export async function send(request: Request, key: string = env.SAAS_ACCESS_KEY): Promise<MarketplaceAnswer> {
  const response = await exports.default.fetch(request);
  const text = await response.text();
  return {
    status: response.status,
    text,
    json: JSON.parse(text),
    bodySignValid: verifyBodySign(key, text, response.headers.get("Body-Sign")) && /^application\/json/.test(response.headers.get("content-type") ?? ""),
  };
}

export function callV2(body: object, options: SignOptions = {}): Promise<MarketplaceAnswer> {
  return send(signedV2Request(body, options), options.key);
}

export function makeNewInstance(overrides: Record<string, unknown> = {}) {
  const orderId = uniqueId("CS");
  return { activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: crypto.randomUUID(), ...overrides };
}

/** Row counts of every lifecycle table: equal before and after means a call stored nothing. */
export async function tableCounts(): Promise<Record<string, number>> {
  const tables = ["instances", "orders", "inbox", "audit_events", "nonces"];
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>();
    counts[table] = row?.n ?? -1;
  }
  return counts;
}

export function expireTime(date: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
}

export async function createInstance(overrides: Record<string, unknown> = {}): Promise<{ instanceId: string; body: ReturnType<typeof makeNewInstance> }> {
  const body = makeNewInstance(overrides);
  const answer = await callV2(body);
  if (answer.json.resultCode !== "000000") throw new Error(`create failed: ${answer.text}`);
  return { instanceId: String(answer.json.instanceId), body };
}

export async function instanceRow(instanceId: string): Promise<Record<string, unknown> | null> {
  return env.DB.prepare("SELECT * FROM instances WHERE id = ?").bind(instanceId).first();
}
