// Runs in Node (vitest.config.ts hands it to Miniflare as the Worker's outbound service): every fetch the Worker or
// its Durable Objects make during tests lands here instead of the network. Tests steer it through /__control.

// One state for every test file of the run (files run in parallel): controls are keyed by order id, never global.
interface OutboundState {
  /** Answer the next N query-order calls for these order ids with HTTP 500. */
  failOrders: Record<string, number>;
  calls: Array<{ method: string; path: string; query: string; authorization: string | null }>;
  orders: Record<string, unknown>;
}

const state: OutboundState = { failOrders: {}, calls: [], orders: {} };

function defaultOrder(orderId: string, orderLineId: string) {
  return {
    orderId,
    orderType: "NEW",
    createTime: "20261101090846",
    orderLine: [
      {
        orderLineId,
        chargingMode: "PERIOD",
        periodType: "year",
        periodNumber: 1,
        expireTime: "20271101235959",
        productInfo: [{ productId: "OFFI000000001", skuCode: "SKU-STD", linearValue: 1, productName: "Standard" }],
      },
    ],
    buyerInfo: { customerId: "cust-1", customerName: "Test Buyer" },
  };
}

export async function outboundMarketplace(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/__control" && request.method === "POST") {
    const control = (await request.json()) as Partial<OutboundState>;
    if (control.failOrders) Object.assign(state.failOrders, control.failOrders);
    if (control.orders) Object.assign(state.orders, control.orders);
    return Response.json({ ok: true });
  }
  if (url.pathname === "/__control/calls") return Response.json(state.calls);
  state.calls.push({ method: request.method, path: url.pathname, query: url.search, authorization: request.headers.get("authorization") });
  if (url.pathname === "/api/mkp-openapi-public/global/v1/order/query") {
    const orderId = url.searchParams.get("orderId") ?? "";
    const failures = state.failOrders[orderId] ?? 0;
    if (failures > 0) {
      state.failOrders[orderId] = failures - 1;
      return Response.json({ error_code: "CBC.0999", error_msg: "injected failure" }, { status: 500 });
    }
    const orderLineId = url.searchParams.get("orderLineId") ?? `${orderId}-000001`;
    const orderInfo = state.orders[orderId] ?? defaultOrder(orderId, orderLineId);
    return Response.json({ resultCode: "MKT.0000", resultMsg: "success", orderInfo });
  }
  return Response.json({ error_code: "CBC.0101", error_msg: `no fake for ${url.pathname}` }, { status: 404 });
}
