import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { formatOnlineLicenseTime } from "../../src/protocol/time-formats";
import type { UploadSeen } from "./outbound-marketplace";
import { expect } from "vitest";
import { type MarketplaceAnswer, callV2, makeNewInstance, uniqueId } from "./marketplace";
import { controlOrders, queryOrderInfo } from "./orders";

/* Online licenses (getLicenseAsync): calls as the Marketplace makes them, the fake upload API, the licenses table. */

export type LicenseRoute = "/saas" | "/license";

const DAY = 86_400_000;

/** A getLicenseAsync body: effective now, expiring in 30 days, a fresh eventId and device. */
export function licenseRequest(instanceId: string, overrides: Record<string, unknown> = {}) {
  const now = Date.now();
  return {
    activity: "getLicenseAsync",
    instanceId,
    effectiveTime: formatOnlineLicenseTime(now),
    expireTime: formatOnlineLicenseTime(now + 30 * DAY),
    eventId: uniqueId("EV"),
    deviceFingerprint: `HW-${crypto.randomUUID()}`,
    ...overrides,
  };
}

/** A real purchase whose order (query order) is a yearly PERIOD line of `productId` for `quantity` devices. */
export async function licensedPurchase(productId = "OFFI000000001", quantity = 1): Promise<string> {
  const body = makeNewInstance();
  const order = queryOrderInfo(body.orderId, [{ productId }]);
  const line = order.orderLine[0];
  if (line) line.productInfo = [{ productId, skuCode: "SKU-STD", linearValue: quantity, productName: "Standard" }];
  await controlOrders({ orders: { [body.orderId]: order } });
  const answer = await callV2(body);
  expect(answer.json.resultCode).toBe("000000");
  return String(answer.json.instanceId);
}

/** /saas is signed with the basic key, /license with the license key (spec §2.5). */
export function callLicense(body: object, route: LicenseRoute = "/saas"): Promise<MarketplaceAnswer> {
  return callV2(body, { path: route, key: route === "/license" ? env.LICENSE_ACCESS_KEY : env.SAAS_ACCESS_KEY });
}

async function control(body: unknown): Promise<void> {
  const response = await fetch(`${env.MARKETPLACE_API_BASE}/__control`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`outbound control: ${response.status}`);
}

/** The fake upload API answers this event's next uploads so (then success). */
export const steerUploads = (eventId: string, answers: Array<{ status: number; code: string }>) => control({ uploadAnswers: { [eventId]: answers } });

export async function uploadsOf(eventId: string): Promise<UploadSeen[]> {
  const response = await fetch(`${env.MARKETPLACE_API_BASE}/__control/uploads?eventId=${encodeURIComponent(eventId)}`);
  return (await response.json()) as UploadSeen[];
}

export async function waitForUploads(eventId: string, count: number, timeout = 8_000): Promise<UploadSeen[]> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const uploads = await uploadsOf(eventId);
    if (uploads.length >= count || Date.now() > deadline) return uploads;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface LicenseRow {
  id: string;
  event_id: string;
  fingerprint_sha256: string;
  instance_id: string;
  state: string;
  type: string | null;
  content: string | null;
  file_name: string | null;
  content_sha256: string | null;
  upload_attempts: number;
  next_upload_at: number | null;
  last_error_code: string | null;
  last_error: string | null;
  issued_by: string | null;
}

export async function licenseRows(eventId: string): Promise<LicenseRow[]> {
  return (await env.DB.prepare("SELECT * FROM licenses WHERE event_id = ? ORDER BY created_at").bind(eventId).all<LicenseRow>()).results;
}

export async function waitForLicense(eventId: string, check: (row: LicenseRow) => boolean, timeout = 8_000): Promise<LicenseRow | undefined> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const [row] = await licenseRows(eventId);
    if ((row && check(row)) || Date.now() > deadline) return row;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Makes the instance's pending uploads due now and runs its alarm (alarms are real timers, 30 s away). */
export async function runUploadsNow(instanceId: string): Promise<boolean> {
  await env.DB.prepare("UPDATE licenses SET next_upload_at = 0 WHERE instance_id = ? AND state = 'issued'").bind(instanceId).run();
  const stub = env.INSTANCES.get(env.INSTANCES.idFromName(instanceId));
  await runInDurableObject(stub, (_actor, state) => {
    state.storage.kv.put("licenseDueAt", 0);
  });
  return runDurableObjectAlarm(stub);
}

export async function licenseEventsOf(instanceId: string): Promise<Array<{ type: string; data: Record<string, unknown> }>> {
  const rows = await env.DB.prepare("SELECT type, body FROM events WHERE instance_id = ? AND type LIKE 'license.%' ORDER BY seq")
    .bind(instanceId)
    .all<{ type: string; body: string }>();
  return rows.results.map((row) => ({ type: row.type, data: (JSON.parse(row.body) as { data: Record<string, unknown> }).data }));
}

export const sha256Hex = async (text: string) => Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))).toString("hex");
