import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { epochMs, timestamps } from "./common";

/** Event types of the seller contract (docs/seller-contract.md); the names are public interface. */
export const EVENT_TYPES = [
  "instance.created",
  "instance.provisioned",
  "instance.renewed",
  "instance.upgraded",
  "instance.frozen",
  "instance.unfrozen",
  "instance.released",
  "instance.failed",
  "kit.synced",
  "usage.rejected",
  "order.notified",
  "license.activated",
  "license.renewed",
  "license.renewal_cancelled",
  "license.frozen",
  "license.unfrozen",
  "license.released",
  "license.requested",
  "license.issued",
  "license.delivered",
  "license.delivery_failed",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Webhook delivery of one event: `none` when no SELLER_WEBHOOK_URL was set when the event was written. */
export const DELIVERY_STATES = ["none", "pending", "delivered", "failed"] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/**
 * The outbox: every event the seller's product sees, written in the same D1 batch as the change it reports.
 * `seq` is assigned at commit and D1 commits one write at a time, so seq order is commit order: the event feed's
 * cursor. `body` is the exact JSON of the webhook body and of the feed entry, never rewritten; only the delivery
 * columns change after the insert.
 */
export const events = sqliteTable(
  "events",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: text("id").notNull(),
    type: text("type", { enum: EVENT_TYPES }).notNull(),
    /** Events of one stream are delivered in seq order; an instance's events form its stream. */
    stream: text("stream").notNull(),
    instanceId: text("instance_id"),
    isTest: integer("is_test", { mode: "boolean" }).notNull(),
    body: text("body").notNull(),
    deliveryState: text("delivery_state", { enum: DELIVERY_STATES }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: epochMs("next_attempt_at"),
    /** Webhook mode: a created event's retries end here (the Marketplace's 3-hour window for new purchases). */
    deliverBy: epochMs("deliver_by"),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    deliveredAt: epochMs("delivered_at"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("events_id_uq").on(t.id),
    index("events_stream_delivery_idx").on(t.stream, t.deliveryState, t.seq),
    index("events_due_idx").on(t.deliveryState, t.nextAttemptAt),
    index("events_instance_idx").on(t.instanceId, t.seq),
    // The operator's list of failed deliveries, newest first; failures are few, so the index stays small.
    index("events_failed_idx").on(t.seq).where(sql`delivery_state = 'failed'`),
  ],
);

export type EventRow = typeof events.$inferSelect;
export type NewEventRow = typeof events.$inferInsert;
