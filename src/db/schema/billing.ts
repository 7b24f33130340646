import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { epochMs, timestamps } from "./common";

/**
 * Quantities are integers of 1/10,000 of a unit: the Marketplace takes at most 4 decimals (open-apis §2.3.1), and
 * integer sums in SQLite are exact where floating point is not.
 */
export const UNITS_PER_WHOLE = 10_000;

/** Why an event is kept but never billed: the instance's status when the usage happened, or a debug instance. */
export const NOT_BILLED_REASONS = ["frozen", "released", "failed", "not-started", "debug-instance"] as const;
export type NotBilledReason = (typeof NOT_BILLED_REASONS)[number];

/** Usage as the seller's app reported it, stored once per event id; never changed except to say where it was billed. */
export const usageEvents = sqliteTable(
  "usage_events",
  {
    /** AUTOINCREMENT, so a row committed later always has a larger seq: the roll-up bounds its work by it. */
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    eventId: text("event_id").notNull(),
    instanceId: text("instance_id").notNull(),
    quantityUnits: integer("quantity_units").notNull(),
    eventTime: epochMs("event_time").notNull(),
    receivedAt: epochMs("received_at").notNull(),
    /** The usage record this event was rolled into; null until the roll-up takes it. */
    recordSn: text("record_sn"),
    /**
     * Why the roll-up will never bill this event (the instance was not billable when it happened, docs/billing-rules.md);
     * null for billable events. Set once, instead of record_sn, so the event leaves the backlog.
     */
    notBilled: text("not_billed", { enum: NOT_BILLED_REASONS }),
  },
  (t) => [
    uniqueIndex("usage_events_event_id_uq").on(t.eventId),
    // Only events still waiting for a record: the roll-up's and reconciliation's work list stays as small as the backlog.
    // With the quantity, the roll-up sums a record's events from this index alone, never reading the events' rows.
    // record_sn and not_billed are NULL in every entry (2 bytes); listed because SQLite does not take a column from a
    // partial index's IS NULL condition, and the queries that use the index name both.
    index("usage_events_unrolled_idx")
      .on(t.instanceId, t.eventTime, t.quantityUnits, t.recordSn, t.notBilled)
      .where(sql`record_sn IS NULL AND not_billed IS NULL`),
    // A record's events, by instance first: the roll-up marks a batch's records in instance order, so its inserts
    // into this index stay near each other. Keyed by record_sn alone (a random hash) each marked event went to a
    // random place in the index: about two thirds of the marking's time at 100,000 events. Partial: an event enters
    // it when it is rolled up, so ingestion does not write it (record_sn = ? implies the condition).
    index("usage_events_record_idx").on(t.instanceId, t.recordSn).where(sql`record_sn IS NOT NULL`),
  ],
);

export const USAGE_PERIODS = ["hourly", "daily"] as const;
export type UsagePeriod = (typeof USAGE_PERIODS)[number];

/**
 * What the one push after the deadline found out about a record that expired while sent but unconfirmed:
 * `due` (not asked yet), `held` (005: the Marketplace had it: accepted), `taken-late` (it took it only now),
 * `not-held` (any other answer: it was not billed).
 */
export const EXPIRY_CHECKS = ["due", "held", "taken-late", "not-held"] as const;
export type ExpiryCheck = (typeof EXPIRY_CHECKS)[number];

export const USAGE_RECORD_STATES = ["pending", "sent", "accepted", "rejected", "expired"] as const;
export type UsageRecordState = (typeof USAGE_RECORD_STATES)[number];

/**
 * One row per instance per billing period: what is (or was to be) pushed to the Marketplace as one usage record.
 * Usage value and times never change once the row is written; a correction is a later period's row.
 */
export const usageRecords = sqliteTable(
  "usage_records",
  {
    /** Deterministic from (instance, period, period begin): a re-run of the roll-up produces the same key. */
    meteringSn: text("metering_sn").primaryKey(),
    instanceId: text("instance_id").notNull(),
    productId: text("product_id"),
    period: text("period", { enum: USAGE_PERIODS }).notNull(),
    /** Start of the UTC hour or day; with the instance, the natural key of the record. */
    periodBegin: epochMs("period_begin").notNull(),
    /** begin_time/end_time as sent: the period, clipped to the instance's start and release. */
    beginTime: epochMs("begin_time").notNull(),
    endTime: epochMs("end_time").notNull(),
    /** Event times rolled into this record: [cover_from, cover_to). Below period_begin means late usage. */
    coverFrom: epochMs("cover_from").notNull(),
    coverTo: epochMs("cover_to").notNull(),
    usageUnits: integer("usage_units").notNull(),
    /** usage_units as the decimal string sent (≤ 4 decimals, no trailing zeros). */
    usageValue: text("usage_value").notNull(),
    eventCount: integer("event_count").notNull(),
    /** Part of usage_units from events of earlier periods (late events). */
    lateUnits: integer("late_units").notNull(),
    /** metering_sn of the earlier record whose period the late usage belongs to, when it had one. */
    correctionOf: text("correction_of"),
    state: text("state", { enum: USAGE_RECORD_STATES }).notNull(),
    attempts: integer("attempts").notNull(),
    /**
     * Calls with this record that reached the Marketplace (an HTTP answer came back) or may have (no answer: timeout,
     * cut connection, a run that died with the call in flight). Claims that never called (call budget used up,
     * refused locally) do not count. "Sent before" in the duplicate rule (usage.api.ts meaningOfDuplicate) is this > 0.
     */
    deliveries: integer("deliveries").notNull().default(0),
    expiryCheck: text("expiry_check", { enum: EXPIRY_CHECKS }),
    nextAttemptAt: epochMs("next_attempt_at").notNull(),
    /** After this the record is worthless to the Marketplace and is never sent (spec README point 10). */
    deadline: epochMs("deadline").notNull(),
    /** 75% of the push window: still unconfirmed after this is logged as at risk. */
    warnAt: epochMs("warn_at").notNull(),
    leaseOwner: text("lease_owner"),
    leaseUntil: epochMs("lease_until"),
    firstSentAt: epochMs("first_sent_at"),
    lastSentAt: epochMs("last_sent_at"),
    resolvedAt: epochMs("resolved_at"),
    rejectCode: text("reject_code"),
    rejectMessage: text("reject_message"),
    lastError: text("last_error"),
    /** The roll-up batch that wrote the row; only that batch may attach events to it. */
    rollupToken: text("rollup_token").notNull(),
    /** When the clean-up had deleted every event of this accepted record (60 days after acceptance); null before. */
    eventsPurgedAt: epochMs("events_purged_at"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("usage_records_instance_period_uq").on(t.instanceId, t.periodBegin),
    // The push claim's order, so it reads the due records in deadline order and stops at its LIMIT (no temp b-tree).
    index("usage_records_claim_idx").on(t.deadline, t.meteringSn).where(sql`state IN ('pending', 'sent')`),
    index("usage_records_expiry_check_idx").on(t.deadline).where(sql`expiry_check = 'due'`),
    // The 010 rule looks up our delivered record of the same instance, begin and end.
    index("usage_records_period_idx").on(t.instanceId, t.beginTime, t.endTime),
    index("usage_records_deadline_idx").on(t.state, t.deadline),
    index("usage_records_rollup_idx").on(t.rollupToken),
    // The clean-up's work list: accepted records whose events are still there, oldest acceptance first.
    index("usage_records_purge_idx").on(t.state, t.resolvedAt).where(sql`events_purged_at IS NULL`),
    // The admin usage report: records whose period begins in a time range.
    index("usage_records_period_begin_idx").on(t.periodBegin),
  ],
);

export type UsageEvent = typeof usageEvents.$inferSelect;
export type NewUsageEvent = typeof usageEvents.$inferInsert;
export type UsageRecord = typeof usageRecords.$inferSelect;
