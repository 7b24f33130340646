import { and, asc, eq, gt, lte, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type EventRow, type EventType, type NewEventRow, events } from "../db/schema/events";

/** The webhook body and the feed entry: one JSON object (docs/seller-contract.md "Webhooks"). */
export interface SellerEvent {
  id: string;
  type: EventType;
  timestamp: string;
  instanceId: string | null;
  test: boolean;
  data: Record<string, unknown>;
}

export interface EventDraft {
  type: EventType;
  instanceId: string | null;
  /** Delivery order key; an instance's events form the stream named by its id. */
  stream: string;
  test: boolean;
  data: Record<string, unknown>;
  at: number;
  /** Webhook provisioning: retries of this event end at this time, after which the purchase fails. */
  deliverBy?: number;
  /** An id derived from what the event reports, for an event that must exist at most once (unique `events.id`). */
  id?: string;
}

export function newEventId(): string {
  return `evt_${crypto.randomUUID().replaceAll("-", "")}`;
}

/**
 * The row that goes into the same D1 batch as the change it reports. With no webhook configured the event is still
 * written (the feed serves it) but never delivered.
 */
export function eventRow(draft: EventDraft, webhookEnabled: boolean): NewEventRow {
  const event: SellerEvent = {
    id: draft.id ?? newEventId(),
    type: draft.type,
    timestamp: new Date(draft.at).toISOString(),
    instanceId: draft.instanceId,
    test: draft.test,
    data: draft.data,
  };
  return {
    id: event.id,
    type: event.type,
    stream: draft.stream,
    instanceId: draft.instanceId,
    isTest: draft.test,
    body: JSON.stringify(event),
    deliveryState: webhookEnabled ? "pending" : "none",
    attempts: 0,
    nextAttemptAt: webhookEnabled ? draft.at : null,
    deliverBy: draft.deliverBy ?? null,
    createdAt: draft.at,
    updatedAt: draft.at,
  };
}

export const outboxStatements = {
  insertEvent: (db: Db, row: NewEventRow) => db.insert(events).values(row),
  /** One multi-row INSERT, one statement however many events a change has; seq follows the order of `rows`. */
  insertEvents: (db: Db, rows: [NewEventRow, ...NewEventRow[]]) => db.insert(events).values(rows),
  /** The acknowledged attempt counts too: `attempts` is every send, so a first-time success reads 1. */
  markDelivered: (db: Db, seq: number, status: number, now: number) =>
    db
      .update(events)
      .set({ deliveryState: "delivered", attempts: sql`${events.attempts} + 1`, lastStatus: status, lastError: null, deliveredAt: now, nextAttemptAt: null, updatedAt: now })
      .where(and(eq(events.seq, seq), eq(events.deliveryState, "pending"))),
  markRetry: (db: Db, seq: number, attempt: { attempts: number; nextAttemptAt: number; status: number | null; error: string }, now: number) =>
    db
      .update(events)
      .set({ attempts: attempt.attempts, nextAttemptAt: attempt.nextAttemptAt, lastStatus: attempt.status, lastError: attempt.error, updatedAt: now })
      .where(and(eq(events.seq, seq), eq(events.deliveryState, "pending"))),
  markFailed: (db: Db, seq: number, attempt: { attempts: number; status: number | null; error: string }, now: number) =>
    db
      .update(events)
      .set({ deliveryState: "failed", attempts: attempt.attempts, nextAttemptAt: null, lastStatus: attempt.status, lastError: attempt.error, updatedAt: now })
      .where(and(eq(events.seq, seq), eq(events.deliveryState, "pending"))),
};

/** The stream's undelivered events, oldest first: only the first may be sent (per-stream order). */
export function pendingEventsOf(db: Db, stream: string, limit = 20): Promise<EventRow[]> {
  return db
    .select()
    .from(events)
    .where(and(eq(events.stream, stream), eq(events.deliveryState, "pending")))
    .orderBy(asc(events.seq))
    .limit(limit)
    .all();
}

/** Streams whose first pending delivery is overdue: the cron sweep pokes their actors (a lost alarm, a crash). */
export async function overdueStreams(db: Db, dueBefore: number, limit = 100): Promise<string[]> {
  // Longest overdue first, by rule rather than by the planner's choice of index: with more overdue streams than one
  // run wakes, the ones whose alarm was lost long ago are never left behind more recent ones.
  const rows = await db
    .select({ stream: events.stream })
    .from(events)
    .where(and(eq(events.deliveryState, "pending"), lte(events.nextAttemptAt, dueBefore)))
    .groupBy(events.stream)
    .orderBy(sql`min(${events.nextAttemptAt})`, events.stream)
    .limit(limit)
    .all();
  return rows.map((row) => row.stream);
}

/** The feed: events committed after `afterSeq`, in commit order. */
export function eventsAfter(db: Db, afterSeq: number, limit: number): Promise<EventRow[]> {
  return db.select().from(events).where(gt(events.seq, afterSeq)).orderBy(asc(events.seq)).limit(limit).all();
}
