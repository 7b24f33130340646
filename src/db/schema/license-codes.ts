import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { epochMs, timestamps } from "./common";

/**
 * A license code's lifecycle as the Marketplace's callbacks set it (marketplace-open-apis §3.3): active until a
 * FREEZE, frozen until an UNFREEZE (data kept through the 15-day freeze period), released for good.
 */
export const LICENSE_CODE_STATUSES = ["active", "frozen", "released"] as const;
export type LicenseCodeStatus = (typeof LICENSE_CODE_STATUSES)[number];

/** Where the row first came from: a Marketplace callback, or the seller's software through the edge service. */
export const LICENSE_CODE_ORIGINS = ["callback", "activation", "heartbeat"] as const;

/**
 * One row per license code (授权码) the gateway has heard of, from the callbacks on POST /license and from the
 * activate / heartbeat calls of the edge license service. Written only by its LicenseCodeActor.
 */
export const licenseCodes = sqliteTable(
  "license_codes",
  {
    code: text("code").primaryKey(),
    origin: text("origin", { enum: LICENSE_CODE_ORIGINS }).notNull(),
    productId: text("product_id"),
    /** The latest order that touched the code: the purchase (activate's answer), a renewal, an unsubscription. */
    orderId: text("order_id"),
    orderLineId: text("order_line_id"),
    isTest: integer("is_test", { mode: "boolean" }).notNull(),
    status: text("status", { enum: LICENSE_CODE_STATUSES }).notNull(),
    expireAt: epochMs("expire_at"),
    /** The scene of the last refreshLicenseCode applied: RENEWAL or UNSUBSCRIBE_RENEWAL_PERIOD. */
    lastRefreshScene: text("last_refresh_scene"),
    frozenAt: epochMs("frozen_at"),
    /** frozenAt + 15 days (§3.3 L5): until then the buyer's data must be kept; a renewal may still unfreeze. */
    dataRetainedUntil: epochMs("data_retained_until"),
    releasedAt: epochMs("released_at"),
    /** Activation through the edge service (or the activate_time a heartbeat reported). */
    activatedAt: epochMs("activated_at"),
    /** ALIVE, EXPIRED or RELEASED as the last successful activate / heartbeat said (§2.4 L2). */
    marketplaceStatus: text("marketplace_status"),
    amount: integer("amount"),
    /** The last heartbeat the Marketplace answered with success: an outage is answered from the record within 24 h. */
    lastHeartbeatAt: epochMs("last_heartbeat_at"),
    lastCallError: text("last_call_error"),
    lastCallErrorAt: epochMs("last_call_error_at"),
    version: integer("version").notNull(),
    ...timestamps,
  },
  (t) => [index("license_codes_product_idx").on(t.productId, t.code), index("license_codes_status_idx").on(t.status, t.dataRetainedUntil)],
);

export const LICENSE_USAGE_STATES = ["pending", "sending", "sent", "rejected"] as const;

/**
 * Software-usage statistics (§2.4 L3) queued by POST /api/v1/license-codes/{code}/software-usage and sent by the
 * licenseUsageReport job in batches of at most 100. A batch is claimed (state sending, lease) before it is sent, so
 * two runs never send the same row; a lease that runs out (the run died mid-call) puts the row back in the queue.
 */
export const licenseUsageQueue = sqliteTable(
  "license_usage_queue",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    code: text("code").notNull(),
    /** The software_usage_Info entries: [{ "id": … } | { "active_num": … }]. */
    entries: text("entries", { mode: "json" }).$type<Array<{ id: string } | { active_num: number }>>().notNull(),
    state: text("state", { enum: LICENSE_USAGE_STATES }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: epochMs("next_attempt_at").notNull(),
    batchId: text("batch_id"),
    leaseUntil: epochMs("lease_until"),
    lastError: text("last_error"),
    sentAt: epochMs("sent_at"),
    ...timestamps,
  },
  (t) => [
    // The job's work list: only unsent rows, so the index stays as small as the backlog.
    index("license_usage_due_idx").on(t.state, t.nextAttemptAt, t.id).where(sql`state IN ('pending', 'sending')`),
    index("license_usage_batch_idx").on(t.batchId),
    // The queue route's cap: unsent rows of one code, counted on every report.
    index("license_usage_code_unsent_idx").on(t.code).where(sql`state IN ('pending', 'sending')`),
    // The daily clean-up deletes sent rows by age.
    index("license_usage_sent_idx").on(t.sentAt).where(sql`state = 'sent'`),
  ],
);

export type LicenseCodeRow = typeof licenseCodes.$inferSelect;
export type NewLicenseCodeRow = typeof licenseCodes.$inferInsert;
export type LicenseUsageRow = typeof licenseUsageQueue.$inferSelect;

/** Where query order stands for a license code's order: asked and answered, still being retried, or given up. */
export const LICENSE_CODE_ORDER_FETCH_STATES = ["pending", "fetched", "failed"] as const;

/**
 * Every order a license-code callback named (the purchase, each renewal, an unsubscription), with its amounts once
 * query order answered. Kept for the statement: license_codes keeps only the latest order of a code. Written only
 * by the code's LicenseCodeActor.
 */
export const licenseCodeOrders = sqliteTable(
  "license_code_orders",
  {
    orderId: text("order_id").notNull(),
    /** "" when the callback named no line. */
    orderLineId: text("order_line_id").notNull(),
    isTest: integer("is_test", { mode: "boolean" }).notNull(),
    code: text("code").notNull(),
    /** The callback that named the order: createLicenseCode, refreshLicenseCode, releaseLicenseCode. */
    activity: text("activity").notNull(),
    fetchState: text("fetch_state", { enum: LICENSE_CODE_ORDER_FETCH_STATES }).notNull(),
    fetchAttempts: integer("fetch_attempts").notNull(),
    nextFetchAt: epochMs("next_fetch_at"),
    lastError: text("last_error"),
    orderType: text("order_type"),
    chargingMode: text("charging_mode"),
    productId: text("product_id"),
    skuCode: text("sku_code"),
    /** `currencyAfterDiscount` of the line, a decimal string; null until fetched. */
    amount: text("amount"),
    /** `currency` of the line, a decimal string; null until fetched. */
    listAmount: text("list_amount"),
    /** The order's `createTime`: the statement's period is chosen by it. */
    orderCreatedAt: epochMs("order_created_at"),
    fetchedAt: epochMs("fetched_at"),
    ...timestamps,
  },
  (t) => [
    primaryKey({ name: "license_code_orders_pk", columns: [t.orderId, t.orderLineId, t.isTest] }),
    index("license_code_orders_code_idx").on(t.code),
    index("license_code_orders_created_idx").on(t.orderCreatedAt),
    index("license_code_orders_fetch_due_idx").on(t.fetchState, t.nextFetchAt),
  ],
);

export type LicenseCodeOrder = typeof licenseCodeOrders.$inferSelect;
