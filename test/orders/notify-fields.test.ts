import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { generalOrderRow, waitForGeneralOrder } from "../support/general-orders";
import { callGeneral, uniqueId } from "../support/marketplace";
import { queryOrderInfo } from "../support/orders";
import { sellerCall } from "../support/seller-api";
import { allDelivered, marketplaceOrders, waitForOutbox } from "../support/webhook-delivery";

/*
 * orderNotify (marketplace-open-apis §3.2) takes what the Marketplace may leave out, and keeps what it sends beyond
 * the fields the gateway reads: the line id (absent in some sale modes: the notification then names the whole order)
 * and any other field are stored with the order line instead of being refused or dropped.
 */

async function queryOrderCalls(orderId: string): Promise<URLSearchParams[]> {
  const calls = (await (await fetch(`${env.MARKETPLACE_API_BASE}/__control/calls`)).json()) as Array<{ path: string; query: string }>;
  return calls.filter((call) => call.path.endsWith("/order/query")).map((call) => new URLSearchParams(call.query)).filter((query) => query.get("orderId") === orderId);
}

describe("orderNotify without orderLineId", () => {
  it("a real one is recorded for the whole order: query order is asked without a line, every line's products are kept", async () => {
    const orderId = uniqueId("CS");
    await marketplaceOrders.set(orderId, queryOrderInfo(orderId, [{ productId: "P-A", skuCode: "SKU-A" }, { productId: "P-B", skuCode: "SKU-B" }]));
    const answer = await callGeneral({ activity: "orderNotify", orderId, testFlag: "0" });
    expect(answer.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    expect(answer.bodySignValid).toBe(true);
    const row = await waitForGeneralOrder({ orderId, orderLineId: "", isTest: false }, (r) => r.state === "fetched");
    expect(JSON.parse(row.products ?? "null")).toEqual([
      { productId: "P-A", skuCode: "SKU-A", productName: "Standard", quantity: 1 },
      { productId: "P-B", skuCode: "SKU-B", productName: "Standard", quantity: 1 },
    ]);
    const [query] = await queryOrderCalls(orderId);
    expect(query?.has("orderLineId")).toBe(false);

    const [event] = await waitForOutbox(`order:${orderId}`, allDelivered(1));
    expect(JSON.parse(event?.body ?? "{}")).toMatchObject({ type: "order.notified", data: { orderId, orderLineId: null, state: "fetched" } });
    expect(await sellerCall(`/api/v1/orders/${orderId}`)).toMatchObject({ status: 200, json: { orderId, lines: [{ orderLineId: null, state: "fetched" }] } });
    // A repeat is answered from the record and writes nothing more.
    expect((await callGeneral({ activity: "orderNotify", orderId, orderLineId: "", testFlag: "0" })).json.resultCode).toBe("000000");
    const inbox = await env.DB.prepare("SELECT COUNT(*) AS n FROM inbox WHERE activity = 'orderNotify' AND request LIKE ?").bind(`%${orderId}%`).first<{ n: number }>();
    expect(inbox?.n).toBe(1);
  });

  it("a debug one is recorded at once", async () => {
    const orderId = uniqueId("CS");
    expect((await callGeneral({ activity: "orderNotify", orderId, testFlag: "1" })).json.resultCode).toBe("000000");
    expect(await generalOrderRow({ orderId, orderLineId: "", isTest: true })).toMatchObject({ state: "received" });
  });
});

describe("fields the gateway does not read", () => {
  it("are kept with the order line (personal ones removed), shown to the seller, and survive nothing but the first notification", async () => {
    const orderId = uniqueId("CS");
    const body = {
      activity: "orderNotify",
      orderId,
      orderLineId: `${orderId}-000001`,
      testFlag: "1",
      saleMode: "LICENSE",
      productInfo: [{ productId: "P-1", amount: 2 }],
      customerName: "Bob Buyer",
    };
    expect((await callGeneral(body)).json.resultCode).toBe("000000");
    const extra = { saleMode: "LICENSE", productInfo: [{ productId: "P-1", amount: 2 }], customerName: "[removed]" };
    const row = await env.DB.prepare("SELECT notify_extra FROM general_orders WHERE order_id = ?").bind(orderId).first<{ notify_extra: string | null }>();
    expect(JSON.parse(row?.notify_extra ?? "null")).toEqual(extra);
    expect(await sellerCall(`/api/v1/orders/${orderId}`)).toMatchObject({ status: 200, json: { lines: [{ extra }] } });
    const [event] = await waitForOutbox(`order:${orderId}`, (rows) => rows.length >= 1);
    expect(JSON.parse(event?.body ?? "{}")).toMatchObject({ data: { extra } });
    // A repeat with other extra fields changes nothing.
    expect((await callGeneral({ ...body, saleMode: "OTHER" })).json.resultCode).toBe("000000");
    const again = await env.DB.prepare("SELECT notify_extra FROM general_orders WHERE order_id = ?").bind(orderId).first<{ notify_extra: string | null }>();
    expect(JSON.parse(again?.notify_extra ?? "null")).toEqual(extra);
  });

  it("a notification with none has an empty extra", async () => {
    const orderId = uniqueId("CS");
    expect((await callGeneral({ activity: "orderNotify", orderId, orderLineId: `${orderId}-000001`, testFlag: "1" })).json.resultCode).toBe("000000");
    expect(await sellerCall(`/api/v1/orders/${orderId}`)).toMatchObject({ status: 200, json: { lines: [{ extra: {} }] } });
  });
});
