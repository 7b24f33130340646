import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type OrderActor, getOrderActor } from "../../src/actor/order.actor";
import { ORDER_NOTIFY_FETCH_WINDOW_MS, type OrderLineKey } from "../../src/orders/general-order";
import { generalOrderRow, keyOf, makeOrderNotify, orderAlarmOf, pendingFetchOf, runOrderFetchNow, waitForGeneralOrder } from "../support/general-orders";
import { callGeneral, rowCounts } from "../support/marketplace";
import { queryOrderInfo } from "../support/orders";
import { sellerBackend } from "../support/seller-backend";
import { specBodySign } from "../support/spec-signatures";
import { allDelivered, marketplaceOrders, outboxOf, waitForOutbox } from "../support/webhook-delivery";

/*
 * POST /orders (marketplace-open-apis §3.2): a general product's order notification is recorded and answered 000000
 * at once; the order is fetched with query order in the background, stored, and reported as `order.notified`.
 */

const stream = (orderId: string) => `order:${orderId}`;

async function inboxRowsOf(orderId: string) {
  const rows = await env.DB.prepare("SELECT idempotency_key, interface, activity, is_test, result_code, answer, request FROM inbox WHERE idempotency_key LIKE ?")
    .bind(`%orderNotify:${orderId}:%`)
    .all<{ idempotency_key: string; interface: string; activity: string; is_test: number; result_code: string; answer: string; request: string }>();
  return rows.results;
}

describe("a real order notification", () => {
  it("answers 000000 signed with the general key, fetches the order in the background, stores it and delivers order.notified once", async () => {
    const body = makeOrderNotify();
    const key = keyOf(body);
    await marketplaceOrders.set(
      body.orderId,
      queryOrderInfo(body.orderId, [{ productId: "OFFI-LICENSE", skuCode: "SKU-SEATS", chargingMode: "PERIOD", periodType: "month", expireTime: "20271231235959" }]),
    );
    const answer = await callGeneral(body);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    expect(answer.bodySignValid).toBe(true);
    // Signed with GENERAL_ACCESS_KEY, which differs from the SaaS key in the tests: not the SaaS key's signature.
    expect(specBodySign(env.SAAS_ACCESS_KEY, answer.text)).not.toBe(specBodySign(env.GENERAL_ACCESS_KEY, answer.text));

    const inbox = await inboxRowsOf(body.orderId);
    expect(inbox).toHaveLength(1);
    expect(inbox[0]).toMatchObject({ idempotency_key: `orderNotify:${body.orderId}:${body.orderLineId}`, interface: "order-notify", activity: "orderNotify", is_test: 0, result_code: "000000" });
    expect(JSON.parse(inbox[0]?.answer ?? "{}")).toEqual({ resultCode: "000000", resultMsg: "success" });

    const row = await waitForGeneralOrder(key, (r) => r.state === "fetched");
    expect(row).toMatchObject({
      is_test: 0,
      fetch_attempts: 1,
      next_fetch_at: null,
      last_error: null,
      order_type: "NEW",
      charging_mode: "PERIOD",
      period_type: "month",
      period_number: 1,
      expire_at: Date.UTC(2027, 11, 31, 23, 59, 59),
      customer_id: "cust-1",
      customer_name: "Test Buyer",
    });
    expect(JSON.parse(row.products ?? "null")).toEqual([{ productId: "OFFI-LICENSE", skuCode: "SKU-SEATS", productName: "Standard", quantity: 1 }]);
    // The snapshot keeps the order readable and the buyer's name sealed.
    const snapshot = JSON.parse(row.snapshot ?? "{}");
    expect(snapshot).toMatchObject({ orderId: body.orderId, buyerInfo: { customerId: "cust-1", customerName: "[sealed]" }, sealedBuyerFields: expect.any(String) });

    const events = await waitForOutbox(stream(body.orderId), allDelivered(1));
    expect(events).toHaveLength(1);
    const event = JSON.parse(events[0]?.body ?? "{}");
    expect(event).toMatchObject({
      type: "order.notified",
      instanceId: null,
      test: false,
      data: {
        orderId: body.orderId,
        orderLineId: body.orderLineId,
        test: false,
        state: "fetched",
        orderType: "NEW",
        chargingMode: "PERIOD",
        periodType: "month",
        periodNumber: 1,
        expireAt: "2027-12-31T23:59:59.000Z",
        products: [{ productId: "OFFI-LICENSE", skuCode: "SKU-SEATS", productName: "Standard", quantity: 1 }],
        customer: { id: "cust-1", name: "Test Buyer" },
      },
    });
    expect(JSON.stringify(event)).not.toContain("sealed");

    // At the seller's backend: one delivery, signed as the contract says, acknowledged.
    const deliveries = await sellerBackend.deliveriesOfEvent(event.id);
    expect(deliveries.map((d) => [d.type, d.verified, d.status])).toEqual([["order.notified", true, 200]]);
    expect(deliveries[0]?.event).toEqual(event);
  });

  it("repeats (the Marketplace retries for 3 hours) answer 000000, change nothing and emit nothing", async () => {
    const body = makeOrderNotify();
    const key = keyOf(body);
    expect((await callGeneral(body)).json.resultCode).toBe("000000");
    const fetched = await waitForGeneralOrder(key, (r) => r.state === "fetched");
    await waitForOutbox(stream(body.orderId), allDelivered(1));
    const calls = await marketplaceOrders.calls(body.orderId);
    const counts = await rowCounts(["general_orders", "inbox", "events"]);

    for (let i = 0; i < 3; i += 1) {
      const repeat = await callGeneral(body);
      expect(repeat.json).toEqual({ resultCode: "000000", resultMsg: "success" });
      expect(repeat.bodySignValid).toBe(true);
    }
    // testFlag absent reads as "0" (documented default): the same real order.
    const { testFlag: _flag, ...withoutFlag } = body;
    expect((await callGeneral(withoutFlag)).json.resultCode).toBe("000000");

    expect(await generalOrderRow(key)).toEqual(fetched);
    expect(await rowCounts(["general_orders", "inbox", "events"])).toEqual(counts);
    expect(await outboxOf(stream(body.orderId))).toHaveLength(1);
    expect(await marketplaceOrders.calls(body.orderId)).toBe(calls);
    expect(await pendingFetchOf(key)).toBeUndefined();
  });

  it("each line of an order is its own record and its own event, in one stream", async () => {
    const body = makeOrderNotify();
    const second = { ...body, orderLineId: `${body.orderId}-000002` };
    await marketplaceOrders.set(body.orderId, queryOrderInfo(body.orderId, [{ productId: "P-ONE" }, { productId: "P-TWO", chargingMode: "ONE_TIME" }]));
    expect((await callGeneral(body)).json.resultCode).toBe("000000");
    expect((await callGeneral(second)).json.resultCode).toBe("000000");
    await waitForGeneralOrder(keyOf(body), (r) => r.state === "fetched");
    const two = await waitForGeneralOrder(keyOf(second), (r) => r.state === "fetched");
    expect(JSON.parse(two.products ?? "[]")).toEqual([expect.objectContaining({ productId: "P-TWO" })]);
    expect(two.charging_mode).toBe("ONE_TIME");
    const events = await waitForOutbox(stream(body.orderId), allDelivered(2));
    expect(events.map((e) => JSON.parse(e.body).data.orderLineId).sort()).toEqual([body.orderLineId, second.orderLineId]);
  });
});

describe("a debug notification (testFlag 1)", () => {
  it("answers 000000, is recorded as debug, never calls query order, and emits order.notified with test: true and only what it holds", async () => {
    const body = makeOrderNotify({ testFlag: "1" });
    const key = keyOf(body);
    const answer = await callGeneral(body);
    expect(answer.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    expect(answer.bodySignValid).toBe(true);

    // Written in the call itself: the row, its inbox record and its event.
    const row = await generalOrderRow(key);
    expect(row).toMatchObject({ is_test: 1, state: "received", fetch_attempts: 0, next_fetch_at: null, products: null, charging_mode: null, customer_id: null });
    expect(await inboxRowsOf(body.orderId)).toEqual([expect.objectContaining({ idempotency_key: `test:orderNotify:${body.orderId}:${body.orderLineId}`, is_test: 1 })]);
    expect(await pendingFetchOf(key)).toBeUndefined();
    expect(await orderAlarmOf(key)).toBeNull();

    const events = await waitForOutbox(stream(body.orderId), allDelivered(1));
    const event = JSON.parse(events[0]?.body ?? "{}");
    expect(event).toMatchObject({
      type: "order.notified",
      test: true,
      instanceId: null,
      data: { orderId: body.orderId, orderLineId: body.orderLineId, test: true, state: "received", products: null, chargingMode: null, customer: null },
    });
    expect((await sellerBackend.deliveriesOfEvent(event.id)).map((d) => [d.verified, d.status])).toEqual([[true, 200]]);

    // A repeat changes nothing; a real notification of the same ids is another record, never met by the debug one.
    const counts = await rowCounts(["general_orders", "inbox", "events"]);
    expect((await callGeneral(body)).json.resultCode).toBe("000000");
    expect(await rowCounts(["general_orders", "inbox", "events"])).toEqual(counts);
    expect(await generalOrderRow(key)).toEqual(row);
    expect(await marketplaceOrders.calls(body.orderId)).toBe(0);

    const real = { ...body, testFlag: "0" };
    expect((await callGeneral(real)).json.resultCode).toBe("000000");
    await waitForGeneralOrder(keyOf(real), (r) => r.state === "fetched");
    expect(await generalOrderRow(key)).toEqual(row);
    expect(await marketplaceOrders.calls(body.orderId)).toBe(1);
  });
});

describe("query order down, then back", () => {
  it("answers 000000 at once, retries from the alarm with backoff and no event, then stores the order and emits order.notified once", async () => {
    const body = makeOrderNotify();
    const key = keyOf(body);
    await marketplaceOrders.fail(body.orderId, 1_000);
    const answer = await callGeneral(body);
    expect(answer.json).toEqual({ resultCode: "000000", resultMsg: "success" });

    // The first attempt runs from the alarm right after the answer, and fails.
    const failed = await waitForGeneralOrder(key, (r) => r.fetch_attempts >= 1);
    expect(failed).toMatchObject({ state: "received", fetch_attempts: 1, last_error: expect.stringContaining("CBC.0999") });
    expect((failed.next_fetch_at ?? Number.POSITIVE_INFINITY) - failed.updated_at).toBeLessThanOrEqual(10_000);
    const pending = await pendingFetchOf(key);
    expect(pending).toMatchObject({ attempts: 1, until: failed.received_at + ORDER_NOTIFY_FETCH_WINDOW_MS });
    expect(await orderAlarmOf(key)).toBe(pending?.nextAt);
    expect(await outboxOf(stream(body.orderId))).toEqual([]);

    // Still down: the next attempt backs off further.
    await runOrderFetchNow(key);
    const second = await waitForGeneralOrder(key, (r) => r.fetch_attempts >= 2);
    expect(second.state).toBe("received");
    expect((second.next_fetch_at ?? 0) - second.updated_at).toBeGreaterThan((failed.next_fetch_at ?? 0) - failed.updated_at);
    // The Marketplace's own retry meanwhile changes nothing.
    expect((await callGeneral(body)).json.resultCode).toBe("000000");
    expect(await generalOrderRow(key)).toEqual(second);

    await marketplaceOrders.fail(body.orderId, 0);
    await runOrderFetchNow(key);
    const fetched = await waitForGeneralOrder(key, (r) => r.state === "fetched");
    expect(fetched).toMatchObject({ fetch_attempts: 3, next_fetch_at: null, last_error: null, charging_mode: "PERIOD" });
    const events = await waitForOutbox(stream(body.orderId), allDelivered(1));
    expect(events).toHaveLength(1);
    expect(await pendingFetchOf(key)).toBeUndefined();
    expect(await orderAlarmOf(key)).toBeNull();
  });

  it("gives up after the retry window (fetch_failed, no event); a resend from the seller center reopens the fetch", async () => {
    const body = makeOrderNotify();
    const key = keyOf(body);
    await marketplaceOrders.fail(body.orderId, 1_000);
    expect((await callGeneral(body)).json.resultCode).toBe("000000");
    await waitForGeneralOrder(key, (r) => r.fetch_attempts >= 1);

    await runOrderFetchNow(key, { windowOver: true });
    const gaveUp = await waitForGeneralOrder(key, (r) => r.state === "fetch_failed");
    expect(gaveUp).toMatchObject({ fetch_attempts: 2, next_fetch_at: null, last_error: expect.stringContaining("CBC.0999") });
    expect(await pendingFetchOf(key)).toBeUndefined();
    expect(await orderAlarmOf(key)).toBeNull();
    expect(await outboxOf(stream(body.orderId))).toEqual([]);

    await marketplaceOrders.fail(body.orderId, 0);
    expect((await callGeneral(body)).json).toEqual({ resultCode: "000000", resultMsg: "success" });
    const fetched = await waitForGeneralOrder(key, (r) => r.state === "fetched");
    expect(fetched.fetch_attempts).toBe(3);
    expect(await waitForOutbox(stream(body.orderId), allDelivered(1))).toHaveLength(1);
    expect(await inboxRowsOf(body.orderId)).toHaveLength(1);
  });

  it("an answer that will never parse gives up at once, without waiting out the window", async () => {
    const body = makeOrderNotify();
    const key = keyOf(body);
    await marketplaceOrders.set(body.orderId, { orderId: body.orderId, orderLine: "not a list" });
    expect((await callGeneral(body)).json.resultCode).toBe("000000");
    const row = await waitForGeneralOrder(key, (r) => r.state === "fetch_failed");
    expect(row).toMatchObject({ fetch_attempts: 1, last_error: expect.stringContaining("BAD_ORDER_INFO") });
    expect(await outboxOf(stream(body.orderId))).toEqual([]);
  });
});

/** The actor's copy of its line is gone, as after a crash between the D1 batch and the cache write. */
function forgetCachedLine(key: OrderLineKey): Promise<void> {
  return runInDurableObject(getOrderActor(env, key), (_actor: OrderActor, state) => {
    state.storage.kv.delete("order");
  });
}

describe("an actor that lost its cached line (a crash after the batch)", () => {
  it("answers a repeat from D1 without writing again, and its alarm still fetches and reports the order once", async () => {
    const body = makeOrderNotify();
    const key = keyOf(body);
    await marketplaceOrders.fail(body.orderId, 1_000);
    expect((await callGeneral(body)).json.resultCode).toBe("000000");
    const waiting = await waitForGeneralOrder(key, (r) => r.fetch_attempts >= 1);

    await forgetCachedLine(key);
    const counts = await rowCounts(["general_orders", "inbox", "events"]);
    expect((await callGeneral(body)).json).toEqual({ resultCode: "000000", resultMsg: "success" });
    expect(await rowCounts(["general_orders", "inbox", "events"])).toEqual(counts);
    expect(await generalOrderRow(key)).toEqual(waiting);

    await forgetCachedLine(key);
    await marketplaceOrders.fail(body.orderId, 0);
    await runOrderFetchNow(key);
    await waitForGeneralOrder(key, (r) => r.state === "fetched");
    expect(await waitForOutbox(stream(body.orderId), allDelivered(1))).toHaveLength(1);
  });
});

describe("an alarm replayed after a crash that followed the fetched batch", () => {
  it("writes neither the order nor order.notified a second time", async () => {
    const body = makeOrderNotify();
    const key = keyOf(body);
    await marketplaceOrders.fail(body.orderId, 1_000);
    expect((await callGeneral(body)).json.resultCode).toBe("000000");
    const waiting = await waitForGeneralOrder(key, (r) => r.fetch_attempts >= 1);
    // What the actor held before its fetch succeeded: the line still received, the fetch pending.
    const before = await runInDurableObject(getOrderActor(env, key), (_actor: OrderActor, state) => ({ order: state.storage.kv.get("order"), fetch: state.storage.kv.get("fetch") }));
    expect(before.fetch).toBeDefined();

    await marketplaceOrders.fail(body.orderId, 0);
    await runOrderFetchNow(key);
    const fetched = await waitForGeneralOrder(key, (r) => r.state === "fetched");
    await waitForOutbox(stream(body.orderId), allDelivered(1));
    const calls = await marketplaceOrders.calls(body.orderId);

    // The actor "died" after the batch: its storage is as it was before, the alarm runs again.
    await runInDurableObject(getOrderActor(env, key), (_actor: OrderActor, state) => {
      state.storage.kv.put("order", before.order);
      state.storage.kv.put("fetch", before.fetch);
    });
    await runOrderFetchNow(key);
    expect(await marketplaceOrders.calls(body.orderId)).toBe(calls + 1);
    expect(await generalOrderRow(key)).toEqual(fetched);
    expect(await outboxOf(stream(body.orderId))).toHaveLength(1);
    expect(await pendingFetchOf(key)).toBeUndefined();
    expect(waiting.state).toBe("received");
  });
});

describe("concurrent repeats", () => {
  it("five copies of one notification at once: one record, one inbox row, one event", async () => {
    const body = makeOrderNotify({ testFlag: "1" });
    const answers = await Promise.all(Array.from({ length: 5 }, () => callGeneral(body)));
    expect(answers.map((a) => a.json.resultCode)).toEqual(Array(5).fill("000000"));
    expect(answers.every((a) => a.bodySignValid)).toBe(true);
    expect(await generalOrderRow(keyOf(body))).toMatchObject({ state: "received", is_test: 1 });
    expect(await inboxRowsOf(body.orderId)).toHaveLength(1);
    expect(await waitForOutbox(stream(body.orderId), allDelivered(1))).toHaveLength(1);
  });
});
