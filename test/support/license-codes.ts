import { env } from "cloudflare:workers";
import type { Delivery } from "../../tools/fake-seller-backend/fake-seller-backend.ts";
import { type MarketplaceAnswer, type SignOptions, expireTime, rowCounts, send, signedV2Request, uniqueId } from "./marketplace";
import { sellerBackend } from "./seller-backend";

/* License-code callbacks as the Marketplace sends them (POST /license, key LICENSE_ACCESS_KEY), and their traces. */

export const newLicenseCode = () => uniqueId("LIC-");

/** A callback on POST /license, signed with the license key unless `options.key` says otherwise; Body-Sign checked against the license key. */
export function callLicense(body: string | object, options: SignOptions = {}): Promise<MarketplaceAnswer> {
  return send(signedV2Request(body, { ...options, key: options.key ?? env.LICENSE_ACCESS_KEY, path: "/license" }), env.LICENSE_ACCESS_KEY);
}

export function makeRefresh(license: string, overrides: Record<string, unknown> = {}) {
  const orderId = uniqueId("CS");
  return {
    activity: "refreshLicenseCode",
    scene: "RENEWAL",
    orderId,
    orderLineId: `${orderId}-000001`,
    license,
    productId: "OFFI-LIC-1",
    expireTime: expireTime(new Date(Date.UTC(2028, 0, 31, 23, 59, 59))),
    testFlag: "0",
    ...overrides,
  };
}

export const makeStatus = (license: string, status: "FREEZE" | "UNFREEZE") => ({ activity: "updateLicenseCodeStatus", license, status, testFlag: "0" });
export const makeRelease = (license: string, overrides: Record<string, unknown> = {}) => ({ activity: "releaseLicenseCode", license, testFlag: "0", ...overrides });

export interface LicenseCodeRecord {
  code: string;
  origin: string;
  status: string;
  product_id: string | null;
  order_id: string | null;
  order_line_id: string | null;
  expire_at: number | null;
  last_refresh_scene: string | null;
  frozen_at: number | null;
  data_retained_until: number | null;
  released_at: number | null;
  activated_at: number | null;
  marketplace_status: string | null;
  last_heartbeat_at: number | null;
  version: number;
}

export function licenseRecord(code: string): Promise<LicenseCodeRecord | null> {
  return env.DB.prepare("SELECT * FROM license_codes WHERE code = ?").bind(code).first<LicenseCodeRecord>();
}

export async function licenseEvents(code: string): Promise<Array<{ type: string; instanceId: string | null; data: Record<string, unknown> }>> {
  const { results } = await env.DB.prepare("SELECT body FROM events WHERE stream = ? ORDER BY seq").bind(`license-code:${code}`).all<{ body: string }>();
  return results.map((row) => JSON.parse(row.body) as { type: string; instanceId: string | null; data: Record<string, unknown> });
}

export const LICENSE_TABLES = ["license_codes", "license_usage_queue", "events", "inbox", "nonces"] as const;
export const licenseTableCounts = () => rowCounts(LICENSE_TABLES);

/** The webhooks the fake seller backend received for this code (its license.* events are filed under the stream). */
export function licenseDeliveries(code: string): Promise<Delivery[]> {
  return sellerBackend.deliveries(`license-code:${code}`);
}

/** Waits (real time, briefly) until the fake seller backend has `count` deliveries for the code. */
export async function waitForDeliveries(code: string, count: number, timeoutMs = 5_000): Promise<Delivery[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const deliveries = await licenseDeliveries(code);
    if (deliveries.length >= count || Date.now() > deadline) return deliveries;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/* Steering the fake Marketplace's license-code API (tools/fake-marketplace, behind the outbound test service). */

const LICENSE_FAKE = "http://127.0.0.1:9/__license-fake/__control";

async function fakeControl(path: string, body: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${LICENSE_FAKE}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`fake marketplace ${path}: ${response.status} ${await response.text()}`);
}

export const fakeLicenses = {
  /** What the fake knows of a code: productId, status (ALIVE/EXPIRED/RELEASED), expireTime (UTC yyyyMMddHHmmss). */
  set: (code: string, license: { productId?: string; status?: string; expireTime?: string; orderId?: string }) => fakeControl("/config", { licenses: { [code]: license } }),
  /** activate / heartbeat for this code, and software-usage calls naming it, answer this §2.4 error code (`count` times, or until cleared with null). */
  error: (code: string, errorCode: string | null, count?: number) => fakeControl("/license-error", { license: code, code: errorCode, count }),
  /** The Marketplace unreachable for calls naming these codes: an HTML 503, a JSON 500, or a cut connection. */
  outage: (codes: string[], mode: "http503" | "http500" | "drop" = "http503") => fakeControl("/outage", { on: true, licenses: codes, mode }),
  outageOver: (codes: string[]) => fakeControl("/outage", { on: false, licenses: codes }),
  /** Whether the fake Marketplace ever activated this code (its activate_time is set by the first activation). */
  async activated(code: string): Promise<boolean> {
    const response = await fetch(`${LICENSE_FAKE}/state`);
    const licenses = ((await response.json()) as { licenses: Record<string, { activateTime: string | null }> }).licenses;
    return (licenses[code]?.activateTime ?? null) !== null;
  },
  async softwareUsage(): Promise<Array<{ license: string; software_usage_Info: unknown[] }>> {
    const response = await fetch(`${LICENSE_FAKE}/state`);
    return ((await response.json()) as { softwareUsage: Array<{ license: string; software_usage_Info: unknown[] }> }).softwareUsage;
  },
};

/** Open-API calls the outbound test service saw for this license-code API path suffix (activate, heartbeat, …). */
export async function openApiCalls(suffix: string): Promise<Array<{ path: string; authorization: string | null }>> {
  const calls = (await (await fetch(`${env.MARKETPLACE_API_BASE}/__control/calls`)).json()) as Array<{ path: string; authorization: string | null }>;
  return calls.filter((call) => call.path.endsWith(suffix));
}
