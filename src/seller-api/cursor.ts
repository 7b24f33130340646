import { z } from "zod";
import type { OrderKeyset } from "../orders/general-order.repo";
import { SellerApiError } from "./errors";

/*
 * Cursors are opaque to the seller: base64url of a small JSON array whose first element names the list it belongs
 * to, so a cursor of one list handed to another is refused instead of silently meaning something else.
 */

const InstanceKey = z.tuple([z.literal("i"), z.number().int().nonnegative(), z.string().min(1).max(64)]);
const EventKey = z.tuple([z.literal("e"), z.number().int().nonnegative()]);
const OrderKey = z.tuple([z.literal("o"), z.number().int().nonnegative(), z.string().min(1).max(64), z.string().min(1).max(64), z.boolean()]);

/** Where a page of instances ends: the last row's (createdAt, id), the keyset of the list indexes. */
export interface InstanceKey {
  createdAt: number;
  id: string;
}

const encode = (parts: readonly unknown[]) => Buffer.from(JSON.stringify(parts), "utf8").toString("base64url");

function decode<T>(text: string, schema: z.ZodType<T>): T {
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new Error("not base64url");
    return schema.parse(JSON.parse(Buffer.from(text, "base64url").toString("utf8")));
  } catch {
    throw new SellerApiError(400, "cursor is not one this API returned");
  }
}

export const instanceCursor = {
  encode: (key: InstanceKey): string => encode(["i", key.createdAt, key.id]),
  decode: (text: string): InstanceKey => {
    const [, createdAt, id] = decode(text, InstanceKey);
    return { createdAt, id };
  },
};

/** The feed's cursor is the seq of the last event seen; 0 is "before the first event". */
export const eventCursor = {
  start: (): string => encode(["e", 0]),
  encode: (seq: number): string => encode(["e", seq]),
  decode: (text: string): number => decode(text, EventKey)[1],
};

/** Where a page of general orders ends: the last row's keyset (received_at, order_id, order_line_id, is_test). */
type OrderKey = OrderKeyset;

export const orderCursor = {
  encode: (key: OrderKey): string => encode(["o", key.receivedAt, key.orderId, key.orderLineId, key.isTest]),
  decode: (text: string): OrderKey => {
    const [, receivedAt, orderId, orderLineId, isTest] = decode(text, OrderKey);
    return { receivedAt, orderId, orderLineId, isTest };
  },
};
