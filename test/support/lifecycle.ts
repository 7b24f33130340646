import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { type InstanceActor, getInstanceActor } from "../../src/actor/instance.actor";
import { formatCompactUtc } from "../../src/protocol/time-formats";
import { sendWith, signedV1Get } from "./kit";
import { type MarketplaceAnswer, callV2, uniqueId } from "./marketplace";
import { controlOrders, queryOrderInfo } from "./orders";

/*
 * Lifecycle tests drive the Worker only through signed Marketplace calls (V2 and V1) and the outbound test service
 * (test/support/outbound-marketplace.ts), then read what D1 recorded: the instance row, its events and audit rows.
 */

/** A V1 basic GET signed as the Marketplace signs it (§5.1), with the test bindings. */
export function callV1(params: Record<string, string>): Promise<MarketplaceAnswer> {
  return sendWith(signedV1Get(params), {}, env.SAAS_ACCESS_KEY);
}

/** Steers the outbound service's fake query order: per order id, never global (test files share it). */
export { controlOrders };

/** An order as query order answers it, one monthly PERIOD line expiring at `expireAt`. */
export function periodOrder(orderId: string, expireAt: number, productId = "OFFI000000001") {
  return queryOrderInfo(orderId, [{ productId, periodType: "month", expireTime: formatCompactUtc(expireAt) }]);
}

export function newInstanceBody(orderId = uniqueId("CS"), overrides: Record<string, unknown> = {}) {
  return { activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: crypto.randomUUID(), ...overrides };
}

export interface StoredEvent {
  type: string;
  data: Record<string, unknown>;
}

/** The seller events written for an instance, in order. */
export async function eventsOf(instanceId: string): Promise<StoredEvent[]> {
  const rows = await env.DB.prepare("SELECT type, body FROM events WHERE instance_id = ? ORDER BY seq").bind(instanceId).all<{ type: string; body: string }>();
  return rows.results.map((row) => ({ type: row.type, data: (JSON.parse(row.body) as { data: Record<string, unknown> }).data }));
}

export interface AuditRow {
  event: string;
  from_status: string | null;
  to_status: string | null;
}

export async function auditOf(instanceId: string): Promise<AuditRow[]> {
  const rows = await env.DB.prepare("SELECT event, from_status, to_status FROM audit_events WHERE instance_id = ? ORDER BY seq").bind(instanceId).all<AuditRow>();
  return rows.results;
}

export interface InstanceState {
  status: string;
  frozen_reason: string | null;
  is_test: number;
  version: number;
  expire_at: number | null;
  frontend_url: string | null;
  failure_code: string | null;
}

export async function stateOf(instanceId: string): Promise<InstanceState | null> {
  return env.DB.prepare("SELECT status, frozen_reason, is_test, version, expire_at, frontend_url, failure_code FROM instances WHERE id = ?")
    .bind(instanceId)
    .first<InstanceState>();
}

export const actorOf = (instanceId: string) => getInstanceActor(env, instanceId);

/** Alarms are real timers: move the pending order fetches' retry time to now, then run the alarm. */
export async function runDueOrderFetches(instanceId: string): Promise<boolean> {
  const stub = actorOf(instanceId);
  await runInDurableObject(stub, (_actor: InstanceActor, state) => {
    const pending = state.storage.kv.get<Array<{ nextAt: number }>>("orderFetches") ?? [];
    // Now, not 0: the alarm re-arms at the earliest pending time, and setAlarm refuses 0.
    const now = Date.now();
    state.storage.kv.put("orderFetches", pending.map((p) => ({ ...p, nextAt: now })));
  });
  return runDurableObjectAlarm(stub);
}

export async function pendingFetchesOf(instanceId: string): Promise<Array<{ orderId: string; attempts: number; purpose: string }>> {
  return runInDurableObject(actorOf(instanceId), (_actor: InstanceActor, state) => state.storage.kv.get("orderFetches") ?? []);
}

export async function alarmOf(instanceId: string): Promise<number | null> {
  return runInDurableObject(actorOf(instanceId), (_actor: InstanceActor, state) => state.storage.getAlarm());
}

/** queryInstance through V2, with or without testFlag. */
export function queryV2(instanceId: string, testFlag?: "1"): Promise<MarketplaceAnswer> {
  return callV2({ activity: "queryInstance", instanceId, ...(testFlag ? { testFlag } : {}) });
}

/**
 * Time moves on for one purchase: its first newInstance happened `ms` earlier, in D1 and in its actor's copy (the
 * actor decides from its copy). Then its alarm may run as it would at that later time.
 */
export async function agePurchase(instanceId: string, ms: number): Promise<void> {
  await env.DB.prepare("UPDATE instances SET created_at = created_at - ?1 WHERE id = ?2").bind(ms, instanceId).run();
  await runInDurableObject(actorOf(instanceId), (_actor: InstanceActor, state) => {
    const cached = state.storage.kv.get<{ createdAt: number }>("instance");
    if (cached) state.storage.kv.put("instance", { ...cached, createdAt: cached.createdAt - ms });
  });
}

/** Runs the instance actor's alarm now, whatever it was armed for (arming it first when nothing is pending). */
export async function runAlarmNow(instanceId: string): Promise<boolean> {
  const stub = actorOf(instanceId);
  await runInDurableObject(stub, async (_actor: InstanceActor, state) => {
    if ((await state.storage.getAlarm()) === null) await state.storage.setAlarm(Date.now());
  });
  return runDurableObjectAlarm(stub);
}
