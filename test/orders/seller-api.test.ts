import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { keyOf, makeOrderNotify, waitForGeneralOrder } from "../support/general-orders";
import { callGeneral } from "../support/marketplace";
import { queryOrderInfo } from "../support/orders";
import { sellerCall } from "../support/seller-api";
import { allDelivered, marketplaceOrders, waitForOutbox } from "../support/webhook-delivery";

/* The seller reads the stored orders: GET /api/v1/orders/{orderId} and GET /api/v1/orders. */

describe("GET /api/v1/orders/{orderId}", () => {
  it("gives the order's notified lines as stored, the same object the order.notified event carried", async () => {
    const body = makeOrderNotify();
    await marketplaceOrders.set(body.orderId, queryOrderInfo(body.orderId, [{ productId: "P-LIC", skuCode: "SKU-1" }]));
    expect((await callGeneral(body)).json.resultCode).toBe("000000");
    await waitForGeneralOrder(keyOf(body), (r) => r.state === "fetched");
    const [event] = await waitForOutbox(`order:${body.orderId}`, allDelivered(1));

    const answer = await sellerCall(`/api/v1/orders/${body.orderId}`);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ orderId: body.orderId, lines: [JSON.parse(event?.body ?? "{}").data] });
    expect(answer.json).toMatchObject({ lines: [{ state: "fetched", products: [{ productId: "P-LIC", skuCode: "SKU-1", quantity: 1 }], customer: { id: "cust-1" } }] });
    // Never the sealed snapshot.
    expect(JSON.stringify(answer.json)).not.toMatch(/sealed|snapshot/);
  });

  it("404 for an order never notified, 400 for a malformed id, 401 without the token", async () => {
    expect(await sellerCall("/api/v1/orders/CSNEVERNOTIFIED")).toMatchObject({ status: 404, json: { error: "order CSNEVERNOTIFIED was never notified" } });
    expect((await sellerCall(`/api/v1/orders/${"O".repeat(65)}`)).status).toBe(400);
    expect((await sellerCall("/api/v1/orders/CS1", { token: null })).status).toBe(401);
    expect((await sellerCall("/api/v1/orders", { token: "wrong" })).status).toBe(401);
  });
});

describe("GET /api/v1/orders", () => {
  it("lists lines newest first, by state, a page at a time, each line exactly once", async () => {
    const bodies = [makeOrderNotify({ testFlag: "1" }), makeOrderNotify({ testFlag: "1" }), makeOrderNotify({ testFlag: "1" })];
    for (const body of bodies) expect((await callGeneral(body)).json.resultCode).toBe("000000");
    const failing = makeOrderNotify();
    await marketplaceOrders.set(failing.orderId, { orderId: failing.orderId, orderLine: "not a list" });
    expect((await callGeneral(failing)).json.resultCode).toBe("000000");
    await waitForGeneralOrder(keyOf(failing), (r) => r.state === "fetch_failed");

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof sellerCall>> = await sellerCall(`/api/v1/orders?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      const orders = page.json.orders as Array<{ orderId: string; receivedAt: string }>;
      expect(orders.length).toBeLessThanOrEqual(2);
      seen.push(...orders.map((o) => o.orderId));
      cursor = page.json.nextCursor as string | null;
    } while (cursor);
    const stored = await env.DB.prepare("SELECT order_id FROM general_orders ORDER BY received_at DESC, order_id DESC, order_line_id DESC, is_test DESC").all<{ order_id: string }>();
    expect(seen).toEqual(stored.results.map((r) => r.order_id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining([...bodies.map((b) => b.orderId), failing.orderId]));

    const failed = await sellerCall("/api/v1/orders?state=fetch_failed");
    expect((failed.json.orders as Array<{ orderId: string; state: string }>).map((o) => [o.orderId, o.state])).toEqual([[failing.orderId, "fetch_failed"]]);
    expect(failed.json.nextCursor).toBeNull();

    expect((await sellerCall("/api/v1/orders?state=lost")).status).toBe(400);
    expect((await sellerCall("/api/v1/orders?cursor=bm90LW91cnM")).status).toBe(400);
    // A cursor of another list is refused, not misread.
    const events = await sellerCall("/api/v1/events?limit=1");
    expect((await sellerCall(`/api/v1/orders?cursor=${String(events.json.nextCursor)}`)).status).toBe(400);
  });
});
