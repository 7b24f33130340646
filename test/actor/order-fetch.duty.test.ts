import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orderFetchDuty } from "../../src/actor/duties/order-fetch.duty";
import { KV, reload } from "../../src/actor/instance-scope";
import { type PendingOrderFetch, orderFetchDelay } from "../../src/instances/order-fetch";
import { dutyHarness } from "../support/duty-scope";
import { controlOrders, newInstanceBody, pendingFetchesOf, stateOf } from "../support/lifecycle";
import { callV2, uniqueId } from "../support/marketplace";

/** A purchase answered 000004 (its inline query order failed), and a harness holding it and its pending fetch. */
async function awaitingOrder() {
  const orderId = uniqueId("CS");
  await controlOrders({ failOrders: { [orderId]: 1 } });
  const answer = await callV2(newInstanceBody(orderId));
  expect(answer.json.resultCode).toBe("000004");
  const instanceId = String(answer.json.instanceId);
  const [pending] = (await pendingFetchesOf(instanceId)) as PendingOrderFetch[];
  const harness = dutyHarness();
  await reload(harness.scope, instanceId);
  const now = Date.now();
  const item: PendingOrderFetch = { ...(pending as PendingOrderFetch), nextAt: now };
  harness.storage.set(KV.orderFetches, [item]);
  return { ...harness, orderId, instanceId, now, item };
}

describe("the order-fetch duty (no actor)", () => {
  it("is due at its earliest pending fetch and, once the order answers, provisions the purchase and has nothing left", async () => {
    const { scope, instanceId, now, item, storage } = await awaitingOrder();
    storage.set(KV.orderFetches, [item, { ...item, orderLineId: "other-line", nextAt: now + 60_000 }]);
    expect(orderFetchDuty.nextDue(scope)).toBe(now);
    storage.set(KV.orderFetches, [item]);
    await orderFetchDuty.run(scope, now);
    expect(orderFetchDuty.nextDue(scope)).toBeUndefined();
    expect((await stateOf(instanceId))?.status).toBe("active");
  });

  it("a failed fetch is recorded and rescheduled on the back-off", async () => {
    const { scope, orderId, instanceId, now, item, storage } = await awaitingOrder();
    await controlOrders({ failOrders: { [orderId]: 1 } });
    await orderFetchDuty.run(scope, now);
    const attempts = item.attempts + 1;
    expect(storage.get(KV.orderFetches)).toEqual([{ ...item, attempts, nextAt: now + orderFetchDelay(attempts) }]);
    expect(orderFetchDuty.nextDue(scope)).toBe(now + orderFetchDelay(attempts));
    const row = await env.DB.prepare("SELECT fetch_state, fetch_attempts FROM orders WHERE instance_id = ?").bind(instanceId).first();
    expect(row).toEqual({ fetch_state: "pending", fetch_attempts: attempts });
    expect((await stateOf(instanceId))?.status).toBe("provisioning");
  });

  it("drops fetches whose create never committed (no instance)", async () => {
    const { scope, storage } = dutyHarness();
    const now = Date.now();
    storage.set(KV.orderFetches, [{ orderId: uniqueId("CS"), orderLineId: null, purpose: "create", activity: "newInstance", attempts: 1, nextAt: now }]);
    await orderFetchDuty.run(scope, now);
    expect(storage.has(KV.orderFetches)).toBe(false);
  });
});
