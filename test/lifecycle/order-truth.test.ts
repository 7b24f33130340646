import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { auditKeyOf, verifyAuditChain } from "../../src/instances/audit-chain";
import { type InstanceActor, getInstanceActor } from "../../src/actor/instance.actor";
import { findOrdersOf, listAuditEvents } from "../../src/instances/instance.repo";
import { callV2, createInstance, instanceRow, uniqueId } from "../support/marketplace";

async function control(body: Record<string, unknown>) {
  await fetch(`${env.MARKETPLACE_API_BASE}/__control`, { method: "POST", body: JSON.stringify(body) });
}

async function openApiCalls(): Promise<Array<{ path: string; query: string; authorization: string | null }>> {
  return (await fetch(`${env.MARKETPLACE_API_BASE}/__control/calls`)).json();
}

/** Alarms are real timers; tests move the retry time of pending fetches to now instead of waiting. */
async function makeFetchesDue(instanceId: string) {
  const stub = getInstanceActor(env, instanceId);
  await runInDurableObject(stub, (_actor: InstanceActor, state) => {
    const pending = state.storage.kv.get<Array<{ nextAt: number }>>("orderFetches") ?? [];
    state.storage.kv.put("orderFetches", pending.map((p) => ({ ...p, nextAt: 0 })));
  });
  return runDurableObjectAlarm(stub);
}

describe("order truth from query order", () => {
  it("fetches the order in the background, AK/SK signed, and stores the snapshot and expiry", async () => {
    const { instanceId, body } = await createInstance();
    await makeFetchesDue(instanceId);
    const [order] = await findOrdersOf(getDb(env), instanceId);
    expect(order).toMatchObject({ orderId: body.orderId, orderLineId: body.orderLineId, fetchState: "fetched", chargingMode: "PERIOD", productId: "OFFI000000001", customerId: "cust-1" });
    expect(await instanceRow(instanceId)).toMatchObject({ expire_at: Date.UTC(2027, 10, 1, 23, 59, 59), expire_source: "order", sku_code: "SKU-STD", version: 2 });
    const calls = await openApiCalls();
    const call = calls.find((c) => c.query.includes(body.orderId));
    expect(call?.path).toBe("/api/mkp-openapi-public/global/v1/order/query");
    expect(call?.authorization).toMatch(/^SDK-HMAC-SHA256 Access=TESTAK0000000000, SignedHeaders=[a-z;-]*host[a-z;-]*x-sdk-date, Signature=[0-9a-f]{64}$/);
    expect(verifyAuditChain(auditKeyOf(env.DATA_KEY), await listAuditEvents(getDb(env), instanceId)).ok).toBe(true);
  });

  it("answers within budget while the Marketplace fails, records the failure, and recovers later", async () => {
    const orderId = uniqueId("CS");
    await control({ failOrders: { [orderId]: 3 } });
    const started = Date.now();
    const { instanceId, body } = await createInstance({ orderId, orderLineId: `${orderId}-000001` });
    expect(Date.now() - started).toBeLessThan(3000);
    await makeFetchesDue(instanceId); // fails (1)
    let [order] = await findOrdersOf(getDb(env), instanceId);
    expect(order).toMatchObject({ fetchState: "pending", fetchAttempts: 1 });
    expect(order?.lastError).toMatch(/CBC\.0999/);
    await makeFetchesDue(instanceId); // fails (2)
    await makeFetchesDue(instanceId); // fails (3)
    expect((await findOrdersOf(getDb(env), instanceId))[0]).toMatchObject({ fetchState: "pending", fetchAttempts: 3 });
    // The buyer can already use the instance: queryInstance does not wait for the order.
    const query = await callV2({ activity: "queryInstance", instanceId });
    expect(query.json.resultCode).toBe("000000");
    await makeFetchesDue(instanceId); // recovers
    [order] = await findOrdersOf(getDb(env), instanceId);
    expect(order).toMatchObject({ orderId: body.orderId, fetchState: "fetched", fetchAttempts: 4, lastError: null });
    expect(await instanceRow(instanceId)).toMatchObject({ expire_source: "order" });
  });

  it("keeps the refreshInstance expiry when the order snapshot arrives later", async () => {
    const { instanceId } = await createInstance();
    const renewal = await callV2({ activity: "refreshInstance", scene: "RENEWAL", orderId: "RN-LATE", orderLineId: "RN-LATE-000001", instanceId, expireTime: "20350101000000" });
    expect(renewal.json.resultCode).toBe("000000");
    await makeFetchesDue(instanceId);
    expect(await instanceRow(instanceId)).toMatchObject({ expire_at: Date.UTC(2035, 0, 1), expire_source: "refresh" });
  });

  it("does not query orders for debug (testFlag) purchases", async () => {
    const { instanceId } = await createInstance({ testFlag: "1" });
    const stub = getInstanceActor(env, instanceId);
    expect(await runDurableObjectAlarm(stub)).toBe(false);
    expect(await findOrdersOf(getDb(env), instanceId)).toEqual([]);
  });
});
