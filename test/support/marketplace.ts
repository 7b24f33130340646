import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { createV2Signature } from "../../src/protocol/v2-signature";
import { specBodySign } from "./spec-signatures";

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

/**
 * The V2 signature (§2.3) over the raw body bytes, as the Marketplace makes it: the timestamp and nonce given or fresh
 * ones (nonce `noncePrefix…`), the signature made from them unless one is given. Basic (query) and kit (x-* headers)
 * calls differ only in where they carry it.
 */
export function signV2(
  body: string | object,
  key: string,
  options: { timestamp?: number | string; nonce?: string; signature?: string },
  noncePrefix: string,
): { raw: string; timestamp: string; nonce: string; signature: string } {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const timestamp = String(options.timestamp ?? Date.now());
  const nonce = options.nonce ?? uniqueId(noncePrefix);
  const signature = options.signature ?? createV2Signature(key, raw, timestamp, nonce);
  return { raw, timestamp, nonce, signature };
}

/** A V2 basic call signed exactly as the Marketplace signs it: over the raw body bytes, params in the query. */
export function signedV2Request(body: string | object, options: SignOptions = {}): Request {
  const { raw, timestamp, nonce, signature } = signV2(body, options.key ?? env.SAAS_ACCESS_KEY, options, "N");
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
  return readAnswer(await exports.default.fetch(request), key);
}

/** The Worker's answer as the Marketplace reads it: JSON, with its Body-Sign checked against `key`. */
export async function readAnswer(response: Response, key: string): Promise<MarketplaceAnswer> {
  const text = await response.text();
  return {
    status: response.status,
    text,
    json: JSON.parse(text),
    // Checked as the Marketplace's debugger would, with the spec's formula rather than the gateway's own code.
    bodySignValid: response.headers.get("Body-Sign") === specBodySign(key, text) && /^application\/json/.test(response.headers.get("content-type") ?? ""),
  };
}

/** A call to `POST /orders` (general products, marketplace-open-apis §3.1): V2 signed with GENERAL_ACCESS_KEY. */
export function callGeneral(body: string | object, options: SignOptions = {}): Promise<MarketplaceAnswer> {
  const key = options.key ?? env.GENERAL_ACCESS_KEY;
  return send(signedV2Request(body, { path: "/orders", ...options, key }), env.GENERAL_ACCESS_KEY);
}

export function callV2(body: object, options: SignOptions = {}): Promise<MarketplaceAnswer> {
  return send(signedV2Request(body, options), options.key);
}

export function makeNewInstance(overrides: Record<string, unknown> = {}) {
  const orderId = uniqueId("CS");
  return { activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: crypto.randomUUID(), ...overrides };
}

/** Row counts of every lifecycle table: equal before and after means a call stored nothing. */
export function tableCounts(): Promise<Record<string, number>> {
  return rowCounts(["instances", "orders", "inbox", "audit_events", "nonces"]);
}

/** Row counts of the named tables, in D1. */
export async function rowCounts(tables: readonly string[]): Promise<Record<string, number>> {
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

/** Alarms are real timers: this makes an instance's pending query-order retries due now and runs its alarm. */
export async function runOrderFetchesNow(instanceId: string): Promise<boolean> {
  const stub = env.INSTANCES.get(env.INSTANCES.idFromName(instanceId));
  await runInDurableObject(stub, (_actor, state) => {
    const pending = state.storage.kv.get<Array<{ nextAt: number }>>("orderFetches") ?? [];
    state.storage.kv.put("orderFetches", pending.map((p) => ({ ...p, nextAt: 0 })));
  });
  return runDurableObjectAlarm(stub);
}
