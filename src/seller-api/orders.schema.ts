import { z } from "zod";
import { GENERAL_ORDER_STATES } from "../db/schema/general-orders";
import type { GeneralOrderView } from "../orders/general-order";
import { Cursor, PageLimit, type SameType } from "./common.schema";

const isoTime = z.iso.datetime({ offset: false });

/** One notified order line of a general product: GET /api/v1/orders/{orderId}, and the `data` of `order.notified`. */
export const GeneralOrder = z
  .object({
    orderId: z.string(),
    orderLineId: z.string().nullable().describe("null when the notification named no line: the record is the whole order's"),
    test: z.boolean().describe("a debug notification of the Marketplace's test tools (never fetched: its terms stay null)"),
    state: z.enum(GENERAL_ORDER_STATES).describe("received: waiting for query order; fetched: stored and reported; fetch_failed: query order gave up"),
    orderType: z.string().nullable().describe("NEW, TRIAL, TRIAL_TO_FORMAL, UNSUBSCRIBE, RENEW, CHANGE; null until fetched"),
    chargingMode: z.string().nullable().describe("PERIOD, ONE_TIME, ON_DEMAND, ON_DEMAND_PKG; null until fetched"),
    periodType: z.string().nullable(),
    periodNumber: z.number().int().nullable(),
    expireAt: isoTime.nullable(),
    products: z
      .array(z.object({ productId: z.string().nullable(), skuCode: z.string().nullable(), productName: z.string().nullable(), quantity: z.number().int().nullable() }))
      .nullable()
      .describe("the line's products, each with its quantity (linearValue); null until fetched"),
    customer: z.object({ id: z.string().nullable(), name: z.string().nullable() }).nullable(),
    fetchAttempts: z.number().int().describe("query-order calls made"),
    lastError: z.string().nullable().describe("why the last query order failed"),
    extra: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe("the notification's fields the gateway does not read, as sent (personal ones \"[removed]\"); null for lines recorded before 0.3.0"),
    receivedAt: isoTime,
    fetchedAt: isoTime.nullable(),
    updatedAt: isoTime,
  })
  .meta({ id: "GeneralOrder" });
const _generalOrderMatches: SameType<z.output<typeof GeneralOrder>, GeneralOrderView> = true;

export const OrderIdParams = z.strictObject({
  orderId: z.string().min(1).max(64).describe("the Marketplace's order id (orderId of orderNotify)"),
});

export const GeneralOrderLines = z
  .object({ orderId: z.string(), lines: z.array(GeneralOrder).describe("every notified line, real and debug") })
  .meta({ id: "GeneralOrderLines" });

export const GeneralOrderListQuery = z.strictObject({
  state: z.enum(GENERAL_ORDER_STATES).optional(),
  limit: PageLimit,
  cursor: Cursor.optional(),
});

export const GeneralOrderList = z
  .object({
    orders: z.array(GeneralOrder).describe("newest notification first"),
    nextCursor: z.string().nullable().describe("pass as ?cursor= for the next page; null on the last page"),
  })
  .meta({ id: "GeneralOrderList" });
