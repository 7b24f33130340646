import { getDb } from "../db/client";
import { generalOrderView } from "../orders/general-order";
import { findGeneralOrderLines, listGeneralOrders } from "../orders/general-order.repo";
import { ErrorBody, commonErrors } from "./common.schema";
import { orderCursor } from "./cursor";
import { SellerApiError } from "./errors";
import { GeneralOrderLines, GeneralOrderList, GeneralOrderListQuery, OrderIdParams } from "./orders.schema";
import { defineRoute, json } from "./route";

export const getOrder = defineRoute(
  {
    method: "get",
    path: "/api/v1/orders/{orderId}",
    operationId: "getOrder",
    summary: "A general product's order, as notified (orderNotify) and fetched with query order",
    params: OrderIdParams,
    responses: {
      200: { description: "the order's notified lines", schema: GeneralOrderLines },
      400: { description: "malformed order id", schema: ErrorBody },
      404: { description: "no notification of this order", schema: ErrorBody },
      ...commonErrors,
    },
  },
  async ({ params, env }) => {
    const rows = await findGeneralOrderLines(getDb(env), params.orderId);
    if (rows.length === 0) throw new SellerApiError(404, `order ${params.orderId} was never notified`);
    return json({ orderId: params.orderId, lines: rows.map(generalOrderView) });
  },
);

export const listOrders = defineRoute(
  {
    method: "get",
    path: "/api/v1/orders",
    operationId: "listOrders",
    summary: "General products' notified order lines, newest first, optionally of one state",
    query: GeneralOrderListQuery,
    responses: {
      200: { description: "one page", schema: GeneralOrderList },
      400: { description: "unknown or malformed parameter, or a cursor this API did not return", schema: ErrorBody },
      ...commonErrors,
    },
  },
  async ({ query, env }) => {
    const after = query.cursor === undefined ? undefined : orderCursor.decode(query.cursor);
    // One more than asked tells whether another page exists without a count query.
    const rows = await listGeneralOrders(getDb(env), query.state, after, query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? orderCursor.encode(last) : null;
    return json({ orders: page.map(generalOrderView), nextCursor });
  },
);
