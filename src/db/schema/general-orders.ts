import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { epochMs, timestamps } from "./common";

/**
 * Where a general product's order notification stands: `received` (recorded, query order pending or, for a debug
 * notification, never asked), `fetched` (the order is stored and `order.notified` emitted), `fetch_failed` (query order
 * refused for good or did not answer within the retry window).
 */
export const GENERAL_ORDER_STATES = ["received", "fetched", "fetch_failed"] as const;
export type GeneralOrderState = (typeof GENERAL_ORDER_STATES)[number];

/** One product of the order line as query order listed it (`productInfo`); `quantity` is its `linearValue`. */
export interface GeneralOrderProduct {
  productId: string | null;
  skuCode: string | null;
  productName: string | null;
  quantity: number | null;
}

/**
 * General (通用) products' orders (marketplace-open-apis §3.2): one row per notified order line, written only by its
 * OrderActor. Not the `orders` table, which holds the order truth of SaaS instances and which billing and
 * reconciliation read. A debug notification has its own row (`is_test`), so a saved debug case never meets a real order.
 */
export const generalOrders = sqliteTable(
  "general_orders",
  {
    orderId: text("order_id").notNull(),
    /** "" when the notification named no line (the whole order; marketplace-open-apis §3.2, docs/lifecycle-rules.md rule 18). */
    orderLineId: text("order_line_id").notNull(),
    isTest: integer("is_test", { mode: "boolean" }).notNull(),
    state: text("state", { enum: GENERAL_ORDER_STATES }).notNull(),
    /** Query-order calls made so far. */
    fetchAttempts: integer("fetch_attempts").notNull(),
    nextFetchAt: epochMs("next_fetch_at"),
    lastError: text("last_error"),
    orderType: text("order_type"),
    chargingMode: text("charging_mode"),
    periodType: text("period_type"),
    periodNumber: integer("period_number"),
    expireAt: epochMs("expire_at"),
    products: text("products", { mode: "json" }).$type<GeneralOrderProduct[]>(),
    /** `currencyAfterDiscount` of the line (what the buyer paid), a decimal string; null until fetched. */
    amount: text("amount"),
    /** `currency` of the line (list price), a decimal string; null until fetched. */
    listAmount: text("list_amount"),
    /** The order's `createTime`: the statement's period is chosen by it. */
    orderCreatedAt: epochMs("order_created_at"),
    customerId: text("customer_id"),
    /** The buyer's account name as query order gives it: the one buyer field the seller's product needs. */
    customerName: text("customer_name"),
    /** The query-order `orderInfo`, its personal fields sealed with DATA_KEY (src/crypto/order-snapshot.ts). */
    snapshot: text("snapshot", { mode: "json" }).$type<Record<string, unknown>>(),
    /**
     * The first notification's fields the gateway does not read (all but activity, orderId, orderLineId, testFlag),
     * personal ones replaced by "[removed]"; null for lines recorded before it kept them.
     */
    notifyExtra: text("notify_extra", { mode: "json" }).$type<Record<string, unknown>>(),
    /** The first notification; repeats change nothing. */
    receivedAt: epochMs("received_at").notNull(),
    fetchedAt: epochMs("fetched_at"),
    ...timestamps,
  },
  (t) => [
    primaryKey({ name: "general_orders_pk", columns: [t.orderId, t.orderLineId, t.isTest] }),
    // The seller API lists orders newest first (keyset on these columns), all or of one state.
    index("general_orders_received_idx").on(t.receivedAt, t.orderId, t.orderLineId, t.isTest),
    index("general_orders_state_idx").on(t.state, t.receivedAt, t.orderId, t.orderLineId, t.isTest),
    index("general_orders_created_idx").on(t.orderCreatedAt),
  ],
);

export type GeneralOrder = typeof generalOrders.$inferSelect;
export type NewGeneralOrder = typeof generalOrders.$inferInsert;
