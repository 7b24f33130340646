import { env, exports } from "cloudflare:workers";
import { type EventDraft, eventRow } from "../../src/events/outbox";
import { uniqueId } from "./marketplace";

/* Calls to the seller API as the seller's product makes them, and rows seeded straight into D1. */

export const BASE = "https://gateway.test";

export interface SellerCall {
  method?: "GET" | "POST";
  /** null: no Authorization header at all. */
  token?: string | null;
  body?: unknown;
  raw?: string;
  contentType?: string;
}

export function sellerRequest(path: string, call: SellerCall = {}): Request {
  const headers: Record<string, string> = {};
  const token = call.token === undefined ? env.SELLER_API_TOKEN : call.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const hasBody = call.body !== undefined || call.raw !== undefined;
  if (hasBody) headers["Content-Type"] = call.contentType ?? "application/json";
  return new Request(`${BASE}${path}`, {
    method: call.method ?? (hasBody ? "POST" : "GET"),
    headers,
    body: call.raw ?? (call.body === undefined ? undefined : JSON.stringify(call.body)),
  });
}

export async function sellerCall(path: string, call: SellerCall = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const response = await exports.default.fetch(sellerRequest(path, call));
  const text = await response.text();
  return { status: response.status, json: JSON.parse(text) as Record<string, unknown>, headers: response.headers };
}

export interface SeedInstance {
  id?: string;
  status?: "provisioning" | "active" | "frozen" | "released" | "failed";
  productId?: string | null;
  isTest?: boolean;
  createdAt: number;
}

/** An instance row as the actor would have written it; for list tests that need exact times and statuses. */
export async function seedInstance(seed: SeedInstance): Promise<string> {
  const id = seed.id ?? uniqueId("I").toLowerCase();
  await env.DB.prepare(
    `INSERT INTO instances (id, create_key, order_id, order_line_id, product_id, status, is_test, version, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
  )
    .bind(id, `seed:${id}`, `CS-${id}`, `CS-${id}-000001`, seed.productId ?? null, seed.status ?? "active", seed.isTest ? 1 : 0, seed.createdAt, seed.createdAt)
    .run();
  return id;
}

/** An outbox row exactly as src/events/outbox.ts writes one (the actor writes it in the batch of its change). */
export async function seedEvent(draft: Partial<EventDraft> & { instanceId: string }): Promise<{ seq: number; id: string }> {
  const row = eventRow({ type: "instance.created", stream: draft.instanceId, test: false, data: { instanceId: draft.instanceId }, at: Date.now(), ...draft }, false);
  const result = await env.DB.prepare(
    "INSERT INTO events (id, type, stream, instance_id, is_test, body, delivery_state, attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING seq",
  )
    .bind(row.id, row.type, row.stream, row.instanceId, row.isTest ? 1 : 0, row.body, row.deliveryState, row.createdAt, row.updatedAt)
    .first<{ seq: number }>();
  return { seq: result?.seq ?? -1, id: String(row.id) };
}

/** Every table a seller write could touch: equal counts before and after mean a refused call stored nothing. */
export const SELLER_TABLES = ["instances", "orders", "inbox", "audit_events", "events", "usage_events", "licenses"] as const;

/**
 * Every /api/v1 route of the seller contract, written out rather than read from the route table, so that a route
 * dropped from the table (or added without a test) fails the tests that walk them all.
 */
export const SELLER_API_OPERATIONS: readonly string[] = [
  "GET /api/v1/events",
  "GET /api/v1/instances",
  "GET /api/v1/instances/{id}",
  "GET /api/v1/instances/{id}/credentials",
  "GET /api/v1/instances/{id}/orgs",
  "GET /api/v1/instances/{id}/tenant",
  "GET /api/v1/instances/{id}/users",
  "GET /api/v1/openapi.json",
  "GET /api/v1/orders",
  "GET /api/v1/orders/{orderId}",
  "POST /api/v1/instances/{id}/provisioned",
  "POST /api/v1/instances/{id}/provisioning-failed",
  "POST /api/v1/usage",
  "GET /api/v1/license-codes/{code}",
  "POST /api/v1/license-codes/{code}/activate",
  "POST /api/v1/license-codes/{code}/heartbeat",
  "POST /api/v1/license-codes/{code}/software-usage",
  "POST /api/v1/license-client-tokens",
  "GET /api/v1/licenses/{eventId}",
  "POST /api/v1/licenses/{eventId}",
  "GET /api/v1/statements/{period}",
];
