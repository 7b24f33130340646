import { describe, expect, it } from "vitest";
import { createKeyOf, instanceIdFor } from "../../src/instances/instance-id";
import { settleBackgroundWork } from "../support/background-work";
import { v1Now } from "../support/kit";
import { callV1 } from "../support/lifecycle";
import { type MarketplaceAnswer, callV2, uniqueId } from "../support/marketplace";
import { PROPERTY_TIMEOUT_MS, STORM } from "./support/profile";
import { type Kind, type StormCall, checkInstance } from "./support/serial-history";

/*
 * Concurrency storms: duplicate and conflicting callbacks (create, renew, freeze, unfreeze, release; V1 and V2 for the
 * same orders) from many concurrent clients. Afterwards each instance must be explained by one serial order: the
 * applied calls (its inbox rows, in commit order) replayed through the state machine give its audit rows, its events
 * and its final state, and every answer that changed nothing is what the state machine says at some point of that
 * history (or a repeat of a recorded call).
 */

const EXPIRY_V2 = "20301231235959";

function stormCalls(orderId: string, instanceId: string, callsPerOrder: number, withRelease: boolean): StormCall[] {
  const calls: StormCall[] = [];
  const add = (dialect: "v1" | "v2", kind: Kind, send: () => Promise<MarketplaceAnswer>, renewalOrderId?: string) =>
    calls.push({ orderId, dialect, kind, send, ...(renewalOrderId ? { renewalOrderId } : {}) });
  for (let i = 0; i < 3; i++) add("v2", "create", () => callV2({ activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: crypto.randomUUID() }));
  for (let i = 0; i < 2; i++) {
    add("v1", "create", () =>
      callV1({
        activity: "newInstance",
        customerId: "cust-storm",
        businessId: crypto.randomUUID(),
        orderId,
        skuCode: "SKU-STD",
        productId: "OFFI000000001",
        chargingMode: "1",
        periodType: "year",
        periodNumber: "1",
        expireTime: EXPIRY_V2,
        testFlag: "0",
        timeStamp: v1Now(Date.now() + i),
      }),
    );
  }
  for (let i = 0; i < 2; i++) {
    const renewal = uniqueId("RN");
    // Each renewal twice: the repeat must be answered from the record and change nothing.
    for (let copy = 0; copy < 2; copy++) {
      add("v2", "renew", () => callV2({ activity: "refreshInstance", scene: "RENEWAL", orderId: renewal, orderLineId: `${renewal}-000001`, instanceId, expireTime: EXPIRY_V2 }), renewal);
    }
  }
  const renewalV1 = uniqueId("RV");
  add("v1", "renew", () => callV1({ activity: "refreshInstance", orderId: renewalV1, instanceId, expireTime: EXPIRY_V2 }), renewalV1);
  add("v1", "expire", () => callV1({ activity: "expireInstance", orderId, instanceId }));
  while (calls.length < callsPerOrder - (withRelease ? 2 : 0)) {
    const n = calls.length;
    if (n % 3 === 0) add("v1", n % 2 ? "freeze" : "unfreeze", () => callV1({ activity: "instanceStatus", instanceId, instanceStatus: n % 2 ? "FREEZE" : "NORMAL" }));
    else add("v2", n % 2 ? "freeze" : "unfreeze", () => callV2({ activity: "updateInstanceStatus", instanceId, status: n % 2 ? "FREEZE" : "UNFREEZE" }));
  }
  if (withRelease) {
    add("v2", "release", () => callV2({ activity: "releaseInstance", instanceId }));
    add("v1", "release", () => callV1({ activity: "releaseInstance", orderId, instanceId }));
  }
  return calls;
}

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe("concurrency storms", () => {
  it(
    `${STORM.orders} orders × ${STORM.callsPerOrder} interleaved V1/V2 calls, all at once: each instance is one serial history`,
    async () => {
      const orders = Array.from({ length: STORM.orders }, (_, i) => {
        const orderId = uniqueId("ST");
        const instanceId = instanceIdFor(createKeyOf(orderId, { orderLineId: `${orderId}-000001` }, false));
        return { orderId, instanceId, calls: stormCalls(orderId, instanceId, STORM.callsPerOrder, i % 2 === 0) };
      });
      const all = shuffled(orders.flatMap((o) => o.calls));
      const answers = await Promise.all(all.map(async (call) => ({ ...call, answer: await call.send() })));
      await settleBackgroundWork(10_000);
      for (const order of orders) {
        // The Marketplace retries the create once the storm is over: success, the same bytes as any earlier success.
        const retry = await callV2({ activity: "newInstance", orderId: order.orderId, orderLineId: `${order.orderId}-000001`, businessId: crypto.randomUUID() });
        expect(retry.json.resultCode, retry.text).toBe("000000");
        const earlier = answers.find((a) => a.orderId === order.orderId && a.kind === "create" && a.dialect === "v2" && a.answer.json.resultCode === "000000");
        if (earlier) expect(retry.text).toBe(earlier.answer.text);
        await checkInstance(
          order.instanceId,
          answers.filter((a) => a.orderId === order.orderId),
        );
      }
    },
    PROPERTY_TIMEOUT_MS,
  );
});
