import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { formatCompactUtc } from "../../src/protocol/time-formats";
import { decryptV1Field } from "../../src/protocol/v1-field-crypto";
import { callV1, controlOrders, eventsOf, newInstanceBody, queryV2, stateOf } from "../support/lifecycle";
import { queryOrderInfo } from "../support/orders";
import { type MarketplaceAnswer, callV2, uniqueId } from "../support/marketplace";

/*
 * Issue 9 point 3 (spec §8: debug cases replay forever, "answering success without touching real tenants"): a debug
 * create (testFlag 1) and a real one of the same order id are two instances; neither is ever answered from the other's
 * row, and lifecycle calls of one kind never act on an instance of the other.
 */

interface AppInfo {
  frontEndUrl: string;
  userName?: string;
  password?: string;
}

function appInfoOf(answer: MarketplaceAnswer): AppInfo | undefined {
  const info = answer.json.info as Array<{ instanceId: string; appInfo?: AppInfo }> | undefined;
  return info?.[0]?.appInfo;
}

const tenantUrl = (instanceId: string) => env.FRONTEND_URL_TEMPLATE.replace("{instanceId}", instanceId);

async function pair(realFirst: boolean) {
  const orderId = uniqueId("CS");
  const debugBody = newInstanceBody(orderId, { testFlag: "1" });
  const realBody = newInstanceBody(orderId);
  const first = await callV2(realFirst ? realBody : debugBody);
  const second = await callV2(realFirst ? debugBody : realBody);
  const [real, debug] = realFirst ? [first, second] : [second, first];
  return { orderId, debugBody, realBody, real, debug, realId: String(real.json.instanceId), debugId: String(debug.json.instanceId) };
}

describe("a debug and a real create of the same order are two instances", () => {
  for (const realFirst of [false, true]) {
    it(`${realFirst ? "real first, then debug" : "debug first, then real"}: different ids, each answered and queried with its own tenant`, async () => {
      const { real, debug, realId, debugId, orderId } = await pair(realFirst);
      expect(real.json).toMatchObject({ resultCode: "000000", instanceId: expect.stringMatching(/^[0-9a-f]{32}$/) });
      expect(debug.json).toMatchObject({ resultCode: "000000", instanceId: expect.stringMatching(/^[0-9a-f]{32}$/) });
      expect(realId).not.toBe(debugId);
      expect(await stateOf(realId)).toMatchObject({ status: "active", is_test: 0, frontend_url: tenantUrl(realId) });
      expect(await stateOf(debugId)).toMatchObject({ status: "active", is_test: 1, frontend_url: tenantUrl(debugId) });
      const rows = await env.DB.prepare("SELECT id, is_test FROM instances WHERE order_id = ? ORDER BY is_test").bind(orderId).all();
      expect(rows.results).toEqual([
        { id: realId, is_test: 0 },
        { id: debugId, is_test: 1 },
      ]);

      // Each query reads its own row: the real tenant's login never reaches a debug answer, nor the other way round.
      const realQuery = await queryV2(realId);
      const debugQuery = await queryV2(debugId, "1");
      expect(appInfoOf(realQuery)?.frontEndUrl).toBe(tenantUrl(realId));
      expect(appInfoOf(debugQuery)?.frontEndUrl).toBe(tenantUrl(debugId));
      expect(appInfoOf(realQuery)?.password).not.toBe(appInfoOf(debugQuery)?.password);
      // Across kinds: a debug query of the real id tells nothing; a real query of the debug id finds nothing.
      const crossDebug = await queryV2(realId, "1");
      expect(crossDebug.json).toEqual({ resultCode: "000000", resultMsg: "success", info: [{ instanceId: realId }] });
      expect((await queryV2(debugId)).json.resultCode).toBe("000003");
    });
  }

  it("repeats of either create (new businessId) are answered from their own instance", async () => {
    const { debugBody, realBody, real, debug, realId, debugId } = await pair(false);
    const debugAgain = await callV2({ ...debugBody, businessId: crypto.randomUUID() });
    const realAgain = await callV2({ ...realBody, businessId: crypto.randomUUID() });
    expect(debugAgain.text).toBe(debug.text);
    expect(realAgain.text).toBe(real.text);
    expect(debugAgain.json.instanceId).toBe(debugId);
    expect(realAgain.json.instanceId).toBe(realId);
  });

  it("a V1 debug purchase of a real V2 order is its own instance too", async () => {
    const orderId = uniqueId("CS");
    const real = await callV2(newInstanceBody(orderId));
    const debug = await callV1({
      activity: "newInstance",
      customerId: "cust-0001",
      businessId: crypto.randomUUID(),
      orderId,
      skuCode: "SKU-STD",
      productId: "OFFI000000001",
      chargingMode: "1",
      expireTime: formatCompactUtc(Date.now() + 30 * 86_400_000),
      testFlag: "1",
    });
    expect(debug.json.resultCode).toBe("000000");
    expect(debug.json.instanceId).not.toBe(real.json.instanceId);
    expect(await stateOf(String(debug.json.instanceId))).toMatchObject({ is_test: 1 });
    expect(await stateOf(String(real.json.instanceId))).toMatchObject({ is_test: 0 });
  });
});

describe("lifecycle calls never cross between debug and real", () => {
  it("testFlag 1 calls for a real instance answer 000000 and change nothing", async () => {
    const { realId } = await pair(true);
    const before = await stateOf(realId);
    const eventsBefore = await eventsOf(realId);
    const debugCalls = [
      { activity: "updateInstanceStatus", instanceId: realId, status: "FREEZE", testFlag: "1" },
      { activity: "refreshInstance", scene: "RENEWAL", orderId: "MOCKMONTYRENEW", orderLineId: "MOCKMONTYRENEW-000001", instanceId: realId, expireTime: "20350101000000", testFlag: "1" },
      { activity: "upgradeInstance", instanceId: realId, orderId: "MOCKMONTYCHANGE", orderLineId: "MOCKMONTYCHANGE-000001", testFlag: "1" },
      { activity: "releaseInstance", instanceId: realId, testFlag: "1" },
    ];
    for (const body of debugCalls) expect((await callV2(body)).json.resultCode).toBe("000000");
    expect((await callV1({ activity: "expireInstance", instanceId: realId, orderId: "X", testFlag: "1" })).json.resultCode).toBe("000000");
    expect((await callV1({ activity: "releaseInstance", instanceId: realId, orderId: "X", testFlag: "1" })).json.resultCode).toBe("000000");
    expect(await stateOf(realId)).toEqual(before);
    expect(await eventsOf(realId)).toEqual(eventsBefore);
  });

  it("real calls for a debug instance answer 000003 and change nothing", async () => {
    const { debugId } = await pair(false);
    const before = await stateOf(debugId);
    const realCalls = [
      { activity: "updateInstanceStatus", instanceId: debugId, status: "FREEZE" },
      { activity: "refreshInstance", scene: "RENEWAL", orderId: uniqueId("RN"), orderLineId: "RN-000001", instanceId: debugId, expireTime: "20350101000000" },
      { activity: "releaseInstance", instanceId: debugId },
    ];
    for (const body of realCalls) expect((await callV2(body)).json.resultCode).toBe("000003");
    expect((await callV1({ activity: "releaseInstance", instanceId: debugId, orderId: "X", testFlag: "0" })).json.resultCode).toBe("000003");
    expect(await stateOf(debugId)).toEqual(before);
    expect((await eventsOf(debugId)).map((e) => e.type)).toEqual(["instance.created", "instance.provisioned"]);
  });
});

describe("saved debug cases replay forever, in any order (spec §8 dial tests)", () => {
  it("after the debug instance's release, every debug case still answers 000000 and changes nothing", async () => {
    const orderId = uniqueId("CS");
    const create = newInstanceBody(orderId, { testFlag: "1" });
    const created = await callV2(create);
    const instanceId = String(created.json.instanceId);
    const cases: Array<Record<string, unknown>> = [
      { activity: "queryInstance", instanceId, testFlag: "1" },
      { activity: "refreshInstance", scene: "RENEWAL", orderId: "MOCKMONTYRENEW", orderLineId: "MOCKMONTYRENEW-000001", instanceId, expireTime: "20350101000000", testFlag: "1" },
      { activity: "updateInstanceStatus", instanceId, status: "FREEZE", testFlag: "1" },
      { activity: "updateInstanceStatus", instanceId, status: "UNFREEZE", testFlag: "1" },
      { activity: "upgradeInstance", instanceId, orderId: "MOCKMONTYCHANGE", orderLineId: "MOCKMONTYCHANGE-000001", testFlag: "1" },
      { activity: "changeInstanceCheck", instanceId, productInfo: { productId: "p", skuCode: "s" }, testFlag: "1" },
      { activity: "releaseInstance", instanceId, testFlag: "1" },
    ];
    // Day 1: the seller saves each case; day 2 and later: the platform replays them all (create included).
    for (const day of [1, 2, 3]) {
      expect((await callV2({ ...create, businessId: crypto.randomUUID() })).json).toMatchObject({ resultCode: "000000", instanceId });
      for (const body of cases) {
        const answer = await callV2(body);
        expect({ day, activity: body.activity, resultCode: answer.json.resultCode }).toEqual({ day, activity: body.activity, resultCode: "000000" });
      }
      const v1Cases: Array<Record<string, string>> = [
        { activity: "instanceStatus", instanceId, instanceStatus: "FREEZE", testFlag: "1" },
        { activity: "expireInstance", instanceId, orderId, testFlag: "1" },
        { activity: "refreshInstance", instanceId, orderId: "MOCKV1RENEW", expireTime: "20350101000000", testFlag: "1" },
      ];
      for (const params of v1Cases) {
        const answer = await callV1(params);
        expect({ day, activity: params.activity, resultCode: answer.json.resultCode }).toEqual({ day, activity: params.activity, resultCode: "000000" });
      }
    }
    expect(await stateOf(instanceId)).toMatchObject({ status: "released", is_test: 1 });
    expect((await eventsOf(instanceId)).filter((e) => e.type === "instance.released")).toHaveLength(1);
  });

  it("a V1 debug create replayed after the debug release still answers frontEndUrl and credentials that decrypt (the V1 debugger requires them)", async () => {
    const create = {
      activity: "newInstance",
      customerId: "debug-customer",
      customerName: "Debug Buyer",
      orderId: uniqueId("CS"),
      skuCode: "sku-debug",
      productId: "prod-debug",
      chargingMode: "1",
      periodType: "month",
      periodNumber: "1",
      expireTime: "20350101000000",
      testFlag: "1",
    };
    const first = await callV1({ ...create, businessId: crypto.randomUUID() });
    const instanceId = String(first.json.instanceId);
    expect((await callV1({ activity: "releaseInstance", instanceId, orderId: create.orderId, testFlag: "1" })).json.resultCode).toBe("000000");
    const replayed = await callV1({ ...create, businessId: crypto.randomUUID() });
    expect(replayed.bodySignValid).toBe(true);
    expect(replayed.json).toMatchObject({ resultCode: "000000", instanceId, encryptType: "1", appInfo: { frontEndUrl: tenantUrl(instanceId) } });
    const appInfo = replayed.json.appInfo as { userName: string; password: string };
    expect(decryptV1Field(env.SAAS_ACCESS_KEY, appInfo.userName, "1")).toBe(decryptV1Field(env.SAAS_ACCESS_KEY, (first.json.appInfo as { userName: string }).userName, "1"));
    expect(decryptV1Field(env.SAAS_ACCESS_KEY, appInfo.password, "1")).toMatch(/^.{20}$/);
    expect(await stateOf(instanceId)).toMatchObject({ status: "released", is_test: 1 });
  });

  it("a real V1 create replayed after its release answers without the released tenant's login", async () => {
    const orderId = uniqueId("CS");
    await controlOrders({ orders: { [orderId]: queryOrderInfo(orderId, [{ productId: "prod-real", skuCode: "sku-real", periodType: "month", expireTime: "20350101000000" }]) } });
    const create = { activity: "newInstance", customerId: "cust-1", customerName: "Buyer", orderId, skuCode: "sku-real", productId: "prod-real", chargingMode: "1", periodType: "month", periodNumber: "1", expireTime: "20350101000000", testFlag: "0" };
    const first = await callV1({ ...create, businessId: crypto.randomUUID() });
    expect(first.json).toMatchObject({ resultCode: "000000", appInfo: { frontEndUrl: expect.any(String) } });
    const instanceId = String(first.json.instanceId);
    expect((await callV1({ activity: "releaseInstance", instanceId, orderId, testFlag: "0" })).json.resultCode).toBe("000000");
    const replayed = await callV1({ ...create, businessId: crypto.randomUUID() });
    expect(replayed.json).toEqual({ resultCode: "000000", resultMsg: "success", instanceId });
  });
});
