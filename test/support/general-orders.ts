import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { type OrderActor, getOrderActor } from "../../src/actor/order.actor";
import type { OrderLineKey } from "../../src/orders/general-order";
import { uniqueId } from "./marketplace";

/* General products' order notifications (POST /orders): payloads, the stored line, and the line's actor. */

/** An orderNotify body (marketplace-open-apis §3.2) with a fresh order id; line `<orderId>-000001`. */
export function makeOrderNotify(overrides: Record<string, unknown> = {}) {
  const orderId = uniqueId("CS");
  return { activity: "orderNotify", orderId, orderLineId: `${orderId}-000001`, testFlag: "0", ...overrides };
}

export function keyOf(body: { orderId: string; orderLineId: string; testFlag?: string }): OrderLineKey {
  return { orderId: body.orderId, orderLineId: body.orderLineId, isTest: body.testFlag === "1" };
}

export interface GeneralOrderRow {
  order_id: string;
  order_line_id: string;
  is_test: number;
  state: string;
  fetch_attempts: number;
  next_fetch_at: number | null;
  last_error: string | null;
  order_type: string | null;
  charging_mode: string | null;
  period_type: string | null;
  period_number: number | null;
  expire_at: number | null;
  products: string | null;
  customer_id: string | null;
  customer_name: string | null;
  snapshot: string | null;
  received_at: number;
  fetched_at: number | null;
  updated_at: number;
}

export function generalOrderRow(key: OrderLineKey): Promise<GeneralOrderRow | null> {
  return env.DB.prepare("SELECT * FROM general_orders WHERE order_id = ? AND order_line_id = ? AND is_test = ?")
    .bind(key.orderId, key.orderLineId, key.isTest ? 1 : 0)
    .first<GeneralOrderRow>();
}

/** Waits (polling D1) until the line's row satisfies `check`. */
export function waitForGeneralOrder(key: OrderLineKey, check: (row: GeneralOrderRow) => boolean, timeout = 8_000): Promise<GeneralOrderRow> {
  return vi.waitFor(
    async () => {
      const row = await generalOrderRow(key);
      if (!row || !check(row)) throw new Error(`general order ${key.orderId} not there yet: ${JSON.stringify(row && [row.state, row.fetch_attempts])}`);
      return row;
    },
    { timeout, interval: 50 },
  );
}

/** What the line's actor keeps of its background query order (undefined: none pending). */
export function pendingFetchOf(key: OrderLineKey): Promise<{ attempts: number; nextAt: number; until: number } | undefined> {
  return runInDurableObject(getOrderActor(env, key), (_actor: OrderActor, state) => state.storage.kv.get("fetch"));
}

export function orderAlarmOf(key: OrderLineKey): Promise<number | null> {
  return runInDurableObject(getOrderActor(env, key), (_actor: OrderActor, state) => state.storage.getAlarm());
}

/**
 * Time moves on without sleeping: the pending query order becomes due now (and, with `windowOver`, the retry window
 * has passed), then the actor's alarm runs.
 */
export async function runOrderFetchNow(key: OrderLineKey, options: { windowOver?: boolean } = {}): Promise<void> {
  const stub = getOrderActor(env, key);
  const pending = await runInDurableObject(stub, async (_actor: OrderActor, state) => {
    const item = state.storage.kv.get<{ nextAt: number; until: number }>("fetch");
    if (!item) return false;
    const past = Date.now() - 1;
    state.storage.kv.put("fetch", { ...item, nextAt: past, ...(options.windowOver ? { until: past } : {}) });
    // Armed in the future, never the past: runDurableObjectAlarm runs it now, and the real timer cannot race it.
    if ((await state.storage.getAlarm()) === null) await state.storage.setAlarm(Date.now() + 60_000);
    return true;
  });
  if (!pending) throw new Error(`order ${key.orderId} has no pending fetch`);
  await runDurableObjectAlarm(stub);
}
