import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PROVISIONING_WINDOW_MS } from "../../src/instances/provisioning-window";
import { adminCall } from "../support/admin";
import { agePurchase, alarmOf, auditOf, callV1, controlOrders, eventsOf, newInstanceBody, pendingFetchesOf, periodOrder, queryV2, runAlarmNow, runDueOrderFetches, stateOf } from "../support/lifecycle";
import { callV2, uniqueId } from "../support/marketplace";

/*
 * Issue 19 item 3 (spec §7): the Marketplace retries a new purchase for 3 hours, then judges it failed and refunds it.
 * A purchase still unprovisioned at createdAt + 3 h fails then, in builtin mode as in webhook mode, and the seller
 * hears instance.failed; nothing that comes later (the order, another newInstance, an operator's retry) provisions it.
 * Time is moved by backdating the purchase (agePurchase), then the actor's alarm runs as it would at that time.
 */

const DAY = 86_400_000;

async function orderRow(orderId: string) {
  return env.DB.prepare("SELECT fetch_state, next_fetch_at FROM orders WHERE order_id = ?").bind(orderId).first<{ fetch_state: string; next_fetch_at: number | null }>();
}

/** A real purchase whose query order is down: answered 000004, waiting for its order. */
async function purchaseWithoutOrder() {
  const orderId = uniqueId("CS");
  await controlOrders({ failOrders: { [orderId]: 1_000 } });
  const body = newInstanceBody(orderId);
  const first = await callV2(body);
  expect(first.json.resultCode).toBe("000004");
  const instanceId = String(first.json.instanceId);
  expect(await stateOf(instanceId)).toMatchObject({ status: "provisioning" });
  return { orderId, body, instanceId };
}

describe("the Marketplace's 3-hour window, builtin mode", () => {
  it("a purchase without its order at createdAt + 3 h fails, with instance.failed, and the order fetches stop", async () => {
    const { orderId, instanceId } = await purchaseWithoutOrder();
    // Just inside the window nothing happens.
    await agePurchase(instanceId, PROVISIONING_WINDOW_MS - 60_000);
    await runAlarmNow(instanceId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "provisioning" });

    await agePurchase(instanceId, 60_000);
    await runAlarmNow(instanceId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "failed", failure_code: "000005" });
    const events = await eventsOf(instanceId);
    expect(events.map((e) => e.type)).toEqual(["instance.failed"]);
    expect(events[0]?.data).toMatchObject({ status: "failed", resultCode: "000005", reason: expect.stringContaining("3-hour window") });
    expect((await auditOf(instanceId)).map((row) => [row.event, row.to_status])).toEqual([
      ["newInstance", "provisioning"],
      ["provisioningWindowClosed", "failed"],
    ]);
    expect(await pendingFetchesOf(instanceId)).toEqual([]);
    expect(await orderRow(orderId)).toMatchObject({ fetch_state: "failed", next_fetch_at: null });
    expect((await queryV2(instanceId)).json.resultCode).toBe("000005");
    await controlOrders({ failOrders: { [orderId]: 0 } });
  });

  it("an order that answers only after the window provisions nothing: the purchase fails, no instance.provisioned", async () => {
    const { orderId, instanceId } = await purchaseWithoutOrder();
    await controlOrders({ failOrders: { [orderId]: 0 }, orders: { [orderId]: periodOrder(orderId, Date.now() + 30 * DAY) } });
    await agePurchase(instanceId, PROVISIONING_WINDOW_MS + 1_000);
    // The retry that was due is late: it runs after the window closed.
    await runDueOrderFetches(instanceId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "failed", failure_code: "000005", frontend_url: null });
    expect((await eventsOf(instanceId)).map((e) => e.type)).toEqual(["instance.failed"]);
    expect((await queryV2(instanceId)).json.resultCode).toBe("000005");
  });

  it("a later newInstance (V2 or V1) or an operator's retry changes nothing: the purchase stays failed", async () => {
    const { orderId, body, instanceId } = await purchaseWithoutOrder();
    await agePurchase(instanceId, PROVISIONING_WINDOW_MS);
    await runAlarmNow(instanceId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "failed" });
    const version = (await stateOf(instanceId))?.version;
    // The order is there now: within the window, a newInstance would provision it at once.
    await controlOrders({ failOrders: { [orderId]: 0 }, orders: { [orderId]: periodOrder(orderId, Date.now() + 30 * DAY) } });

    const again = await callV2({ ...body, businessId: crypto.randomUUID() });
    expect(again.json).toMatchObject({ resultCode: "000005", instanceId });
    const v1 = await callV1({ activity: "newInstance", customerId: "cust-1", businessId: crypto.randomUUID(), orderId, skuCode: "SKU-STD", productId: "OFFI000000001", chargingMode: "1", testFlag: "0" });
    expect(v1.json).toMatchObject({ resultCode: "000005", instanceId });
    expect(v1.json.appInfo).toBeUndefined();
    const retry = await adminCall(`/admin/api/instances/${instanceId}/retry-provisioning`, { method: "POST" });
    expect(retry.status).toBe(409);
    expect(JSON.stringify(retry.json)).toContain("3-hour window");

    expect(await stateOf(instanceId)).toMatchObject({ status: "failed", version, frontend_url: null });
    expect((await eventsOf(instanceId)).map((e) => e.type)).toEqual(["instance.failed"]);
    expect(await pendingFetchesOf(instanceId)).toEqual([]);
  });

  it("the window closes when the alarm is due, not 11 hours of order retries later", async () => {
    const { orderId, instanceId } = await purchaseWithoutOrder();
    // Pretend the schedule of query order retries has run for a long while: its next retry lies past the window.
    await agePurchase(instanceId, PROVISIONING_WINDOW_MS - 5_000);
    const row = await env.DB.prepare("SELECT created_at FROM instances WHERE id = ?").bind(instanceId).first<{ created_at: number }>();
    // Whatever else is pending, the alarm is armed no later than the window's end.
    await runDueOrderFetches(instanceId);
    const alarm = await alarmOf(instanceId);
    expect(alarm).not.toBeNull();
    expect(Number(alarm)).toBeLessThanOrEqual(Number(row?.created_at) + PROVISIONING_WINDOW_MS);
    await controlOrders({ failOrders: { [orderId]: 0 } });
  });

  it("a debug purchase never fails by the window", async () => {
    const body = newInstanceBody(uniqueId("CS"), { testFlag: "1" });
    const answer = await callV2(body);
    expect(answer.json.resultCode).toBe("000000");
    const instanceId = String(answer.json.instanceId);
    await agePurchase(instanceId, PROVISIONING_WINDOW_MS + 1_000);
    await runAlarmNow(instanceId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "active" });
  });
});
