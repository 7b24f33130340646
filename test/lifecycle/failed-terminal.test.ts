import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { InstanceActor } from "../../src/actor/instance.actor";
import { ORDER_FETCH_MAX_ATTEMPTS } from "../../src/instances/order-fetch";
import { actorOf, auditOf, callV1, controlOrders, eventsOf, newInstanceBody, pendingFetchesOf, periodOrder, queryV2, runDueOrderFetches, stateOf } from "../support/lifecycle";
import { callV2, uniqueId } from "../support/marketplace";

/*
 * Issue 9 point 4: a purchase whose order can never be fetched fails (src/instances/order-fetch.ts gives up on a final
 * error, or after ORDER_FETCH_MAX_ATTEMPTS); `failed` is then terminal for status changes, so no FREEZE/UNFREEZE sends
 * it back to `provisioning`, where queryInstance would answer 000004 forever. A new newInstance for it is the
 * Marketplace's retry (spec §7: it keeps calling for 3 hours): provisioning starts again.
 */

const DAY = 86_400_000;

/** An orderInfo query order cannot use (no orderId): a final error, so the first background attempt gives up. */
const brokenOrder = { orderType: "NEW" };

async function orderRow(orderId: string) {
  return env.DB.prepare("SELECT fetch_state, fetch_attempts, next_fetch_at FROM orders WHERE order_id = ?")
    .bind(orderId)
    .first<{ fetch_state: string; fetch_attempts: number; next_fetch_at: number | null }>();
}

/** A real purchase whose query order answers a final error: 000004 first, then `failed` after the background attempt. */
async function failedPurchase() {
  const orderId = uniqueId("CS");
  await controlOrders({ orders: { [orderId]: brokenOrder } });
  const body = newInstanceBody(orderId);
  const first = await callV2(body);
  expect(first.json.resultCode).toBe("000004");
  const instanceId = String(first.json.instanceId);
  expect(await stateOf(instanceId)).toMatchObject({ status: "provisioning" });
  await runDueOrderFetches(instanceId);
  expect(await stateOf(instanceId)).toMatchObject({ status: "failed", failure_code: "000005" });
  expect(await orderRow(orderId)).toMatchObject({ fetch_state: "failed", next_fetch_at: null });
  return { instanceId, orderId, body };
}

describe("a purchase whose order cannot be fetched fails", () => {
  it("gives up at once on a final error, and after ORDER_FETCH_MAX_ATTEMPTS on retryable ones", async () => {
    await failedPurchase();

    const orderId = uniqueId("CS");
    await controlOrders({ failOrders: { [orderId]: 1_000 } });
    const answer = await callV2(newInstanceBody(orderId));
    const instanceId = String(answer.json.instanceId);
    await runDueOrderFetches(instanceId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "provisioning" });
    expect(await pendingFetchesOf(instanceId)).toMatchObject([{ orderId, attempts: 2 }]);
    // Skip ahead to the last attempt instead of running 48 alarms.
    await runInDurableObject(actorOf(instanceId), (_actor: InstanceActor, state) => {
      const pending = state.storage.kv.get<Array<{ attempts: number }>>("orderFetches") ?? [];
      state.storage.kv.put("orderFetches", pending.map((p) => ({ ...p, attempts: ORDER_FETCH_MAX_ATTEMPTS - 1 })));
    });
    await runDueOrderFetches(instanceId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "failed" });
    expect(await orderRow(orderId)).toMatchObject({ fetch_state: "failed", fetch_attempts: ORDER_FETCH_MAX_ATTEMPTS });
    expect(await pendingFetchesOf(instanceId)).toEqual([]);
    await controlOrders({ failOrders: { [orderId]: 0 } });
  });
});

describe("failed is terminal for status changes", () => {
  it("V2 FREEZE/UNFREEZE and V1 instanceStatus/expireInstance leave it failed; queryInstance never answers 000004", async () => {
    const { instanceId, body } = await failedPurchase();
    const version = (await stateOf(instanceId))?.version;
    const calls = [
      () => callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" }),
      () => callV2({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" }),
      () => callV2({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" }),
      () => callV1({ activity: "instanceStatus", instanceId, instanceStatus: "FREEZE", testFlag: "0" }),
      () => callV1({ activity: "instanceStatus", instanceId, instanceStatus: "NORMAL", testFlag: "0" }),
      () => callV1({ activity: "expireInstance", instanceId, orderId: body.orderId, testFlag: "0" }),
    ];
    for (const call of calls) {
      const answer = await call();
      expect(answer.json.resultCode).toBe("000000");
      expect(await stateOf(instanceId)).toMatchObject({ status: "failed", frozen_reason: null, version });
      const query = await queryV2(instanceId);
      expect(query.json.resultCode).not.toBe("000004");
      expect(query.json.info).toEqual([{ instanceId }]);
    }
    expect((await eventsOf(instanceId)).map((e) => e.type)).toEqual(["instance.failed"]);
    // A release still applies: the Marketplace refunds a failed purchase and releases it.
    expect((await callV2({ activity: "releaseInstance", instanceId })).json.resultCode).toBe("000000");
    expect(await stateOf(instanceId)).toMatchObject({ status: "released" });
  });

  it("a repeat of the create that failed (same body, new businessId) while the order is still unavailable retries, not replays", async () => {
    const { instanceId, body, orderId } = await failedPurchase();
    const again = await callV2({ ...body, businessId: crypto.randomUUID() });
    expect(again.json).toMatchObject({ resultCode: "000004", instanceId });
    expect(await stateOf(instanceId)).toMatchObject({ status: "provisioning", failure_code: null });
    expect(await pendingFetchesOf(instanceId)).toMatchObject([{ orderId, purpose: "create", attempts: 1 }]);
    // The order row follows: a fetch is pending again, so reconciliation and roll-up do not count it as failed.
    expect(await orderRow(orderId)).toMatchObject({ fetch_state: "pending", next_fetch_at: expect.any(Number) });

    await controlOrders({ orders: { [orderId]: periodOrder(orderId, Date.now() + 30 * DAY) } });
    await runDueOrderFetches(instanceId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "active", failure_code: null });
    expect(await orderRow(orderId)).toMatchObject({ fetch_state: "fetched" });
    const query = await queryV2(instanceId);
    expect(query.json).toMatchObject({ resultCode: "000000", info: [{ instanceId, appInfo: { frontEndUrl: expect.any(String) } }] });
  });
});

describe("a new newInstance for a failed purchase retries provisioning", () => {
  it("succeeds at once when the order is available now, with the same instance id", async () => {
    const { instanceId, orderId, body } = await failedPurchase();
    await controlOrders({ orders: { [orderId]: periodOrder(orderId, Date.now() + 30 * DAY) } });
    const retry = await callV2({ ...body, businessId: crypto.randomUUID() });
    expect(retry.json).toMatchObject({ resultCode: "000000", instanceId });
    expect(await stateOf(instanceId)).toMatchObject({ status: "active", failure_code: null, frozen_reason: null });
    expect((await eventsOf(instanceId)).map((e) => e.type)).toEqual(["instance.failed", "instance.created", "instance.provisioned"]);
    expect((await auditOf(instanceId)).map((row) => [row.event, row.from_status, row.to_status])).toEqual([
      ["newInstance", null, "provisioning"],
      ["provisioningFailed", "provisioning", "failed"],
      ["provisioningRetried", "failed", "active"],
    ]);
    // Repeats of the create now answer from the active instance.
    const repeat = await callV2({ ...body, businessId: crypto.randomUUID() });
    expect(repeat.json).toMatchObject({ resultCode: "000000", instanceId });
    expect((await queryV2(instanceId)).json.resultCode).toBe("000000");
  });

  it("a V1 create of the failed V2 purchase retries it too, on the purchase's own order line", async () => {
    const { instanceId, orderId } = await failedPurchase();
    await controlOrders({ orders: { [orderId]: periodOrder(orderId, Date.now() + 30 * DAY) } });
    const v1 = await callV1({
      activity: "newInstance",
      customerId: "cust-1",
      businessId: crypto.randomUUID(),
      orderId,
      skuCode: "SKU-STD",
      productId: "OFFI000000001",
      chargingMode: "1",
      testFlag: "0",
    });
    expect(v1.json).toMatchObject({ resultCode: "000000", instanceId, appInfo: { frontEndUrl: expect.any(String) } });
    expect(await stateOf(instanceId)).toMatchObject({ status: "active" });
    // The retry fetched the purchase's own line: no order row of it is left counted as failed for good.
    const rows = await env.DB.prepare("SELECT order_line_id, fetch_state FROM orders WHERE order_id = ?").bind(orderId).all();
    expect(rows.results).toEqual([{ order_line_id: `${orderId}-000001`, fetch_state: "fetched" }]);
  });
});
