import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { type InstanceActor, getInstanceActor } from "../../src/actor/instance.actor";
import { createKeyOf, instanceIdFor } from "../../src/instances/instance-id";
import type { Delivery } from "../../tools/fake-seller-backend/fake-seller-backend.ts";
import { expireTime, makeNewInstance } from "./marketplace";
import { type OrderLineSpec, controlOrders, queryOrderInfo } from "./orders";
import { sellerCall } from "./seller-api";
import { sellerBackend } from "./seller-backend";

/*
 * Following events from the outbox (D1 `events`) to the fake seller backend, and moving delivery time forward without
 * sleeping: retries are made due by rewriting `next_attempt_at`, then the instance actor's alarm is run.
 */


/** A purchase (V2 newInstance body) and the instance id the gateway will give it, known before it is sent. */
export function makePurchase(overrides: Record<string, unknown> = {}) {
  const body = makeNewInstance(overrides);
  const isTest = String(overrides.testFlag ?? "0") === "1";
  const instanceId = instanceIdFor(createKeyOf(body.orderId, { orderLineId: body.orderLineId }, isTest));
  return { body, instanceId };
}

/** The order the outbound fake answers for `orderId` (the open API's query order shape): yearly, a year from now. */
export function makeOrder(orderId: string, line: OrderLineSpec = {}) {
  return queryOrderInfo(orderId, [{ ...line, expireTime: line.expireTime ?? expireTime(new Date(Date.now() + 365 * 24 * 3600_000)) }]);
}

export const marketplaceOrders = {
  set: (orderId: string, order: unknown) => controlOrders({ orders: { [orderId]: order } }),
  /** The next `times` query-order calls for this order answer HTTP 500; 0 ends the outage. */
  fail: (orderId: string, times: number) => controlOrders({ failOrders: { [orderId]: times } }),
  async calls(orderId: string): Promise<number> {
    const calls = (await (await fetch(`${env.MARKETPLACE_API_BASE}/__control/calls`)).json()) as Array<{ path: string; query: string }>;
    return calls.filter((call) => call.path.endsWith("/order/query") && new URLSearchParams(call.query).get("orderId") === orderId).length;
  },
};

export interface OutboxRow {
  seq: number;
  id: string;
  type: string;
  instanceId: string | null;
  state: string;
  attempts: number;
  nextAttemptAt: number | null;
  deliverBy: number | null;
  lastStatus: number | null;
  /** The time of the last change to the row: for a retrying delivery, its last attempt. */
  updatedAt: number;
  body: string;
}

/** The stream's outbox rows in commit order. */
export async function outboxOf(stream: string): Promise<OutboxRow[]> {
  const rows = await env.DB.prepare(
    `SELECT seq, id, type, instance_id AS instanceId, delivery_state AS state, attempts, next_attempt_at AS nextAttemptAt,
            deliver_by AS deliverBy, last_status AS lastStatus, updated_at AS updatedAt, body
     FROM events WHERE stream = ? ORDER BY seq`,
  )
    .bind(stream)
    .all<OutboxRow>();
  return rows.results;
}

/** Waits (polling D1, never a fixed sleep) until the stream's rows satisfy `check`; returns them. */
export async function waitForOutbox(stream: string, check: (rows: OutboxRow[]) => boolean, timeout = 8_000): Promise<OutboxRow[]> {
  return vi.waitFor(
    async () => {
      const rows = await outboxOf(stream);
      if (!check(rows)) throw new Error(`outbox of ${stream} not there yet: ${JSON.stringify(rows.map((r) => [r.type, r.state, r.attempts]))}`);
      return rows;
    },
    { timeout, interval: 50 },
  );
}

/** Every event of the stream acknowledged (none pending), and at least `count` of them. */
export const allDelivered = (count: number) => (rows: OutboxRow[]) => rows.length >= count && rows.every((row) => row.state === "delivered");

/** Time moves on: every pending delivery of the stream is due now; then its actor's alarm runs. */
export async function makeDueAndRunAlarm(stream: string, patch: { deliverBy?: number } = {}): Promise<void> {
  const past = Date.now() - 1;
  await env.DB.prepare(
    "UPDATE events SET next_attempt_at = ?1, deliver_by = COALESCE(?2, deliver_by) WHERE stream = ?3 AND delivery_state = 'pending'",
  )
    .bind(past, patch.deliverBy ?? null, stream)
    .run();
  await runAlarm(stream);
}

/** Runs the actor's alarm now; arms it first (kick) in case the last attempt's bookkeeping has not re-armed it yet. */
export async function runAlarm(stream: string): Promise<void> {
  const stub = getInstanceActor(env, stream);
  await stub.kick(stream);
  await runDurableObjectAlarm(stub);
}

/** What the fake seller backend received for the instance, in arrival order. */
export function deliveriesOf(instanceId: string): Promise<Delivery[]> {
  return sellerBackend.deliveries(instanceId);
}

/** Acknowledged deliveries (2xx), one per event as the seller saw them, in arrival order. */
export async function acknowledged(instanceId: string): Promise<Delivery[]> {
  return (await deliveriesOf(instanceId)).filter((d) => d.status !== null && d.status >= 200 && d.status < 300);
}

/** The whole event feed after `cursor`, read as a seller's poller reads it. */
export async function readFeed(cursor?: string): Promise<{ events: Array<Record<string, unknown>>; cursor: string }> {
  const events: Array<Record<string, unknown>> = [];
  let after = cursor;
  for (;;) {
    const page = await sellerCall(`/api/v1/events?limit=500${after ? `&after=${after}` : ""}`);
    expect(page.status).toBe(200);
    const batch = page.json.events as Array<Record<string, unknown>>;
    events.push(...batch);
    after = String(page.json.nextCursor);
    if (batch.length === 0) return { events, cursor: after };
  }
}

export async function feedOf(instanceId: string): Promise<Array<Record<string, unknown>>> {
  return (await readFeed()).events.filter((event) => event.instanceId === instanceId);
}

/** The actor's pending query-order retries (kept in its storage) become due now; then its alarm runs. */
export async function makeOrderFetchDueAndRunAlarm(instanceId: string): Promise<void> {
  const stub = getInstanceActor(env, instanceId);
  const pending = await runInDurableObject(stub, (_actor: InstanceActor, state) => {
    const items = state.storage.kv.get<Array<{ nextAt: number }>>("orderFetches") ?? [];
    state.storage.kv.put("orderFetches", items.map((item) => ({ ...item, nextAt: Date.now() - 1 })));
    return items.length;
  });
  if (pending === 0) throw new Error(`instance ${instanceId} has no pending order fetch`);
  await stub.kick(instanceId);
  await runDurableObjectAlarm(stub);
}

/** When the actor's alarm is set to go off (null: none). */
export function alarmOf(instanceId: string): Promise<number | null> {
  return runInDurableObject(getInstanceActor(env, instanceId), (_actor: InstanceActor, state) => state.storage.getAlarm());
}
