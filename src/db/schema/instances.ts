import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { epochMs, timestamps } from "./common";

export const INSTANCE_STATUSES = ["provisioning", "active", "frozen", "released", "failed"] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/**
 * Why a frozen instance is frozen, which decides what lifts it: a Marketplace FREEZE only an UNFREEZE; an expiry
 * freeze (V1 expireInstance, or the gateway's own expiry check) also a renewal that moves the expiry into the future.
 */
export const FROZEN_REASONS = ["marketplace", "expired-v1", "expired-gateway"] as const;
export type FrozenReason = (typeof FROZEN_REASONS)[number];

/** One row per purchased instance; written only by its InstanceActor. */
export const instances = sqliteTable(
  "instances",
  {
    id: text("id").primaryKey(),
    /** orderId + orderLineId (or + productId for pay-per-use): what a retried create meets on. */
    createKey: text("create_key").notNull(),
    orderId: text("order_id").notNull(),
    orderLineId: text("order_line_id"),
    productId: text("product_id"),
    skuCode: text("sku_code"),
    chargingMode: text("charging_mode"),
    periodType: text("period_type"),
    periodNumber: integer("period_number"),
    quantity: integer("quantity"),
    customerId: text("customer_id"),
    /** The buyer's account name as query order gives it: the seller's entitlement shows it (docs/seller-contract.md). */
    customerName: text("customer_name"),
    /** Set once query order answered for this purchase: a real instance is provisioned only after it (order first). */
    orderKnownAt: epochMs("order_known_at"),
    status: text("status", { enum: INSTANCE_STATUSES }).notNull(),
    frozenReason: text("frozen_reason", { enum: FROZEN_REASONS }),
    isTest: integer("is_test", { mode: "boolean" }).notNull(),
    /** Bumped on every change; external calls re-check it before writing what they learned. */
    version: integer("version").notNull(),
    expireAt: epochMs("expire_at"),
    /** "order" (query order) or "refresh" (refreshInstance); a refresh always wins over the order snapshot. */
    expireSource: text("expire_source", { enum: ["order", "refresh"] }),
    frontendUrl: text("frontend_url"),
    adminUrl: text("admin_url"),
    adminUserName: text("admin_user_name"),
    /** AES-GCM sealed with DATA_KEY (src/crypto/data-key.ts); never logged. */
    adminPasswordSealed: text("admin_password_sealed"),
    provisionedAt: epochMs("provisioned_at"),
    frozenAt: epochMs("frozen_at"),
    releasedAt: epochMs("released_at"),
    failureReason: text("failure_reason"),
    /** The Marketplace code a failed instance answers (000100–000107 from the seller's backend, else 000005). */
    failureCode: text("failure_code"),
    memo: text("memo"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("instances_create_key_uq").on(t.createKey),
    index("instances_status_expire_idx").on(t.status, t.expireAt),
    index("instances_order_idx").on(t.orderId),
    // The seller API lists instances newest first, filtered by status / product / test flag.
    index("instances_list_idx").on(t.isTest, t.status, t.createdAt, t.id),
    index("instances_product_idx").on(t.productId, t.createdAt, t.id),
    // The admin search by customer name, newest first, as the other list indexes.
    index("instances_customer_name_idx").on(t.customerName, t.createdAt, t.id),
  ],
);

export const ORDER_FETCH_STATES = ["pending", "fetched", "failed"] as const;

/** Order truth from the open API's query order, one row per order line the Marketplace told us about. */
export const orders = sqliteTable(
  "orders",
  {
    orderId: text("order_id").notNull(),
    orderLineId: text("order_line_id").notNull(),
    instanceId: text("instance_id").notNull(),
    /** The callback that introduced the order: newInstance, refreshInstance, upgradeInstance, releaseInstance. */
    activity: text("activity").notNull(),
    fetchState: text("fetch_state", { enum: ORDER_FETCH_STATES }).notNull(),
    fetchAttempts: integer("fetch_attempts").notNull(),
    nextFetchAt: epochMs("next_fetch_at"),
    lastError: text("last_error"),
    orderType: text("order_type"),
    productId: text("product_id"),
    skuCode: text("sku_code"),
    chargingMode: text("charging_mode"),
    periodType: text("period_type"),
    periodNumber: integer("period_number"),
    expireAt: epochMs("expire_at"),
    customerId: text("customer_id"),
    customerName: text("customer_name"),
    /** What the buyer paid for the line (`currencyAfterDiscount`), a decimal string as query order gives it; null until fetched. */
    amount: text("amount"),
    /** The line's list price (`currency`), a decimal string; null until fetched. */
    listAmount: text("list_amount"),
    /** The order's `createTime` (when the buyer placed it): the statement's period is chosen by it. */
    orderCreatedAt: epochMs("order_created_at"),
    /** The whole orderInfo as the Marketplace returned it. */
    snapshot: text("snapshot", { mode: "json" }).$type<Record<string, unknown>>(),
    fetchedAt: epochMs("fetched_at"),
    ...timestamps,
  },
  (t) => [
    primaryKey({ name: "orders_pk", columns: [t.orderId, t.orderLineId] }),
    index("orders_instance_idx").on(t.instanceId),
    index("orders_fetch_due_idx").on(t.fetchState, t.nextFetchAt),
    index("orders_created_idx").on(t.orderCreatedAt),
  ],
);

/**
 * The durable inbox: every verified callback that was applied, with the exact answer we gave. Its idempotency key
 * is unique, so the row is also the idempotency record: a repeat is answered from `answer`, byte for byte.
 */
export const inbox = sqliteTable(
  "inbox",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    idempotencyKey: text("idempotency_key").notNull(),
    /** SHA-256 of the fields that define the request (not businessId, which changes on every retry). */
    fingerprint: text("fingerprint").notNull(),
    interface: text("interface").notNull(),
    activity: text("activity").notNull(),
    instanceId: text("instance_id"),
    isTest: integer("is_test", { mode: "boolean" }).notNull(),
    /** The verified request body as received. */
    request: text("request").notNull(),
    resultCode: text("result_code").notNull(),
    answer: text("answer").notNull(),
    receivedAt: epochMs("received_at").notNull(),
  },
  (t) => [
    uniqueIndex("inbox_idempotency_key_uq").on(t.idempotencyKey),
    index("inbox_instance_idx").on(t.instanceId, t.receivedAt),
    index("inbox_received_idx").on(t.receivedAt),
    // Clean-up deletes per interface (V1 rows may have to stay): without it, kept rows would be rescanned every run.
    index("inbox_interface_received_idx").on(t.interface, t.receivedAt),
  ],
);

/** Nonces of verified callbacks, kept until the timestamp tolerance makes a replay fail on its own. */
export const nonces = sqliteTable(
  "nonces",
  {
    nonce: text("nonce").primaryKey(),
    expiresAt: epochMs("expires_at").notNull(),
  },
  (t) => [index("nonces_expires_idx").on(t.expiresAt)],
);

/** Append-only, hash-chained history of each instance: row n carries the hash of row n-1. */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    instanceId: text("instance_id").notNull(),
    seq: integer("seq").notNull(),
    at: epochMs("at").notNull(),
    event: text("event").notNull(),
    fromStatus: text("from_status"),
    toStatus: text("to_status"),
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [
    primaryKey({ name: "audit_events_pk", columns: [t.instanceId, t.seq] }),
    // Billing asks "what was the status at time t" (src/billing/billable-time.ts): only the status changes after t.
    index("audit_events_status_change_idx").on(t.instanceId, t.at).where(sql`from_status IS NOT to_status`),
  ],
);

export type Instance = typeof instances.$inferSelect;
export type NewInstanceRow = typeof instances.$inferInsert;
export type Order = typeof orders.$inferSelect;
export type InboxEntry = typeof inbox.$inferSelect;
export type AuditEvent = typeof auditEvents.$inferSelect;
