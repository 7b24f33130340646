import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { auditKeyOf, verifyAuditChain } from "../../src/instances/audit-chain";
import { getInstanceActor } from "../../src/actor/instance.actor";
import { findOrdersOf, listAuditEvents } from "../../src/instances/instance.repo";
import { callV2, createInstance, instanceRow, runOrderFetchesNow, uniqueId } from "../support/marketplace";
import { controlOrders } from "../support/orders";

const control = controlOrders;

async function openApiCalls(): Promise<Array<{ path: string; query: string; authorization: string | null }>> {
  return (await fetch(`${env.MARKETPLACE_API_BASE}/__control/calls`)).json();
}

const makeFetchesDue = runOrderFetchesNow;

describe("order truth from query order (order first)", () => {
  it("fetches the order before provisioning, AK/SK signed, and stores it with the buyer fields of the snapshot sealed", async () => {
    const { instanceId, body } = await createInstance();
    const [order] = await findOrdersOf(getDb(env), instanceId);
    expect(order).toMatchObject({ orderId: body.orderId, orderLineId: body.orderLineId, fetchState: "fetched", chargingMode: "PERIOD", productId: "OFFI000000001", customerId: "cust-1" });
    expect(JSON.stringify(order?.snapshot)).not.toContain("Test Buyer");
    // Provisioned with its order known: one version, product, period and customer on the instance itself.
    expect(await instanceRow(instanceId)).toMatchObject({
      status: "active",
      expire_at: Date.UTC(2027, 10, 1, 23, 59, 59),
      expire_source: "order",
      product_id: "OFFI000000001",
      sku_code: "SKU-STD",
      period_type: "year",
      period_number: 1,
      quantity: 1,
      customer_id: "cust-1",
      version: 1,
    });
    const calls = await openApiCalls();
    const call = calls.find((c) => c.query.includes(body.orderId));
    expect(call?.path).toBe("/api/mkp-openapi-public/global/v1/order/query");
    expect(call?.authorization).toMatch(/^SDK-HMAC-SHA256 Access=TESTAK0000000000, SignedHeaders=[a-z;-]*host[a-z;-]*x-sdk-date, Signature=[0-9a-f]{64}$/);
    expect(verifyAuditChain(auditKeyOf(env.DATA_KEY), await listAuditEvents(getDb(env), instanceId)).ok).toBe(true);
  });

  it("answers 000004 while query order fails, retries in the background, and provisions once the order is known", async () => {
    const orderId = uniqueId("CS");
    await control({ failOrders: { [orderId]: 3 } });
    const body = { activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: crypto.randomUUID() };
    const first = await callV2(body); // fails (1), inline
    expect(first.json).toMatchObject({ resultCode: "000004" });
    const instanceId = String(first.json.instanceId);
    let [order] = await findOrdersOf(getDb(env), instanceId);
    expect(order).toMatchObject({ fetchState: "pending", fetchAttempts: 1 });
    // The first background retry is due within 10 s of the purchase (docs/seller-contract.md "Order first").
    expect((order?.nextFetchAt ?? Number.POSITIVE_INFINITY) - (order?.createdAt ?? 0)).toBeLessThanOrEqual(10_000);
    expect(await instanceRow(instanceId)).toMatchObject({ status: "provisioning", order_known_at: null, frontend_url: null });
    await makeFetchesDue(instanceId); // fails (2)
    await makeFetchesDue(instanceId); // fails (3)
    [order] = await findOrdersOf(getDb(env), instanceId);
    expect(order).toMatchObject({ fetchState: "pending", fetchAttempts: 3 });
    expect(order?.lastError).toMatch(/CBC\.0999/);
    // Nothing to show the buyer before the order is known: 000004 without appInfo.
    const waiting = await callV2({ activity: "queryInstance", instanceId });
    expect(waiting.json).toMatchObject({ resultCode: "000004", info: [{ instanceId }] });
    expect((waiting.json.info as Array<Record<string, unknown>>)[0]?.appInfo).toBeUndefined();
    expect((await callV2({ ...body, businessId: crypto.randomUUID() })).json.resultCode).toBe("000004");
    await makeFetchesDue(instanceId); // recovers
    [order] = await findOrdersOf(getDb(env), instanceId);
    expect(order).toMatchObject({ orderId, fetchState: "fetched", fetchAttempts: 4, lastError: null });
    expect(await instanceRow(instanceId)).toMatchObject({ status: "active", expire_source: "order", product_id: "OFFI000000001" });
    expect((await callV2({ ...body, businessId: crypto.randomUUID() })).json).toMatchObject({ resultCode: "000000", instanceId });
    expect((await callV2({ activity: "queryInstance", instanceId })).json.resultCode).toBe("000000");
  });

  it("keeps the refreshInstance expiry when the order arrives later", async () => {
    const orderId = uniqueId("CS");
    await control({ failOrders: { [orderId]: 1 } });
    const created = await callV2({ activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: crypto.randomUUID() });
    const instanceId = String(created.json.instanceId);
    const renewal = await callV2({ activity: "refreshInstance", scene: "RENEWAL", orderId: "RN-LATE", orderLineId: "RN-LATE-000001", instanceId, expireTime: "20350101000000" });
    expect(renewal.json.resultCode).toBe("000000");
    await makeFetchesDue(instanceId);
    expect(await instanceRow(instanceId)).toMatchObject({ status: "active", expire_at: Date.UTC(2035, 0, 1), expire_source: "refresh" });
  });

  it("does not query orders for debug (testFlag) purchases", async () => {
    const { instanceId, body } = await createInstance({ testFlag: "1" });
    // Its alarm only delivers its (test: true) events; nothing asks query order.
    await runDurableObjectAlarm(getInstanceActor(env, instanceId));
    expect(await findOrdersOf(getDb(env), instanceId)).toEqual([]);
    expect((await openApiCalls()).filter((call) => call.query.includes(body.orderId))).toEqual([]);
    expect(await instanceRow(instanceId)).toMatchObject({ status: "active", is_test: 1, order_known_at: null });
  });
});
