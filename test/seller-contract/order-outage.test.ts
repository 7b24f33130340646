import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callV2, instanceRow } from "../support/marketplace";
import { allDelivered, alarmOf, deliveriesOf, makeOrderFetchDueAndRunAlarm, makePurchase, marketplaceOrders, outboxOf, waitForOutbox } from "../support/webhook-delivery";

/*
 * Order first (docs/seller-contract.md "Order first"): a real purchase is provisioned only once its order is known. While
 * query order is down the Marketplace gets 000004 and the seller hears nothing; once it answers, the purchase is
 * provisioned from the alarm and both events go out.
 */

const FIRST_RETRY_LIMIT_MS = 10_000;

describe("query order down, then back", () => {
  it("000004 without app info and no event while down; the first retry within 10 s; after recovery provisioned, created + provisioned sent, newInstance repeats 000000", async () => {
    const { body, instanceId } = makePurchase();
    await marketplaceOrders.fail(body.orderId, 1_000);
    const first = await callV2(body);
    expect(first.json).toMatchObject({ resultCode: "000004", instanceId });
    expect(first.bodySignValid).toBe(true);

    const query = await callV2({ activity: "queryInstance", instanceId });
    expect(query.json).toEqual({ resultCode: "000004", resultMsg: "provisioning", info: [{ instanceId }] });
    expect(await instanceRow(instanceId)).toMatchObject({ status: "provisioning", order_known_at: null, provisioned_at: null, frontend_url: null });
    expect(await outboxOf(instanceId)).toEqual([]);
    expect(await deliveriesOf(instanceId)).toEqual([]);

    // The first background retry: within 10 s, both in the stored order row and in the actor's alarm.
    const order = await env.DB.prepare("SELECT fetch_state, fetch_attempts, next_fetch_at, created_at FROM orders WHERE order_id = ?")
      .bind(body.orderId)
      .first<{ fetch_state: string; fetch_attempts: number; next_fetch_at: number; created_at: number }>();
    expect(order).toMatchObject({ fetch_state: "pending", fetch_attempts: 1 });
    const purchasedAt = order?.created_at ?? 0;
    expect((order?.next_fetch_at ?? Number.POSITIVE_INFINITY) - purchasedAt).toBeLessThanOrEqual(FIRST_RETRY_LIMIT_MS);
    const alarm = await alarmOf(instanceId);
    expect((alarm ?? Number.POSITIVE_INFINITY) - purchasedAt).toBeLessThanOrEqual(FIRST_RETRY_LIMIT_MS);

    // The Marketplace's own retry during the outage gets the same answer.
    expect((await callV2({ ...body, businessId: crypto.randomUUID() })).json).toMatchObject({ resultCode: "000004", instanceId });
    expect(await marketplaceOrders.calls(body.orderId)).toBeGreaterThanOrEqual(1);

    // Query order answers again; the retry runs from the alarm.
    await marketplaceOrders.fail(body.orderId, 0);
    await makeOrderFetchDueAndRunAlarm(instanceId);
    const rows = await waitForOutbox(instanceId, allDelivered(2));
    expect(rows.map((row) => row.type)).toEqual(["instance.created", "instance.provisioned"]);
    expect(JSON.parse(rows[0]?.body ?? "{}")).toMatchObject({ data: { status: "provisioning", productId: "OFFI000000001", skuCode: "SKU-STD", customer: { id: "cust-1" } } });
    expect(await instanceRow(instanceId)).toMatchObject({ status: "active", product_id: "OFFI000000001", order_known_at: expect.any(Number) });
    expect(await env.DB.prepare("SELECT fetch_state, next_fetch_at FROM orders WHERE order_id = ?").bind(body.orderId).first()).toEqual({ fetch_state: "fetched", next_fetch_at: null });

    const repeat = await callV2({ ...body, businessId: crypto.randomUUID() });
    expect(repeat.json).toMatchObject({ resultCode: "000000", instanceId });
    const provisioned = await callV2({ activity: "queryInstance", instanceId });
    expect(provisioned.json).toMatchObject({ resultCode: "000000", info: [{ instanceId, appInfo: { frontEndUrl: expect.any(String), userName: expect.any(String) } }] });
    expect((await deliveriesOf(instanceId)).map((d) => [d.type, d.status, d.verified])).toEqual([
      ["instance.created", 200, true],
      ["instance.provisioned", 200, true],
    ]);
  });
});
