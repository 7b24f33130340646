import { and, asc, desc, eq } from "drizzle-orm";
import { getInstanceActor } from "../actor/instance.actor";
import type { Db } from "../db/client";
import { type EventRow, events } from "../db/schema/events";
import { DELIVERY_WINDOW_MS } from "../events/delivery";
import type { Delivery, DeliveryListQuery } from "./admin-api.schema";
import { adminActionIfChanged, logAdminAction } from "./admin-audit";
import { AdminApiError } from "./admin-route";
import { deliveryOf } from "./admin-views";

/** Failed deliveries newest first (partial index events_failed_idx); pending ones soonest due first (events_due_idx). */
export async function listDeliveries(db: Db, query: DeliveryListQuery): Promise<Delivery[]> {
  const rows =
    query.state === "failed"
      ? await db.select().from(events).where(eq(events.deliveryState, "failed")).orderBy(desc(events.seq)).limit(query.limit).all()
      : await db.select().from(events).where(eq(events.deliveryState, "pending")).orderBy(asc(events.nextAttemptAt)).limit(query.limit).all();
  return rows.map(deliveryOf);
}

/**
 * A failed webhook delivery goes back to pending with a fresh attempt budget: attempts from 0 (the backoff starts
 * again at 30 s) and 24 hours from now to succeed (`deliver_by`, which judgeDelivery reads before the event's own
 * 24 hours). The body is untouched, so the seller gets the same webhook-id and can deduplicate. Then the stream's
 * actor is kicked: its alarm sends the stream's pending events in seq order, this one first.
 */
export async function resendDelivery(env: Env, db: Db, eventId: string, now: number): Promise<Delivery> {
  const event = await db.select().from(events).where(eq(events.id, eventId)).get();
  if (!event) throw new AdminApiError(404, `event ${eventId} does not exist`);
  if (event.deliveryState !== "failed") throw new AdminApiError(409, `delivery of ${eventId} is ${event.deliveryState}, not failed`);
  const record = { action: "resendDelivery" as const, target: eventId, at: now, detail: { stream: event.stream, type: event.type, previousAttempts: event.attempts } };
  const [updated] = await db.batch([
    db
      .update(events)
      .set({ deliveryState: "pending", attempts: 0, nextAttemptAt: now, deliverBy: now + DELIVERY_WINDOW_MS, updatedAt: now })
      // Only from failed: two resends racing set it pending once, and the loser learns it below.
      .where(and(eq(events.seq, event.seq), eq(events.deliveryState, "failed")))
      .returning(),
    adminActionIfChanged(db, record),
  ]);
  const row: EventRow | undefined = updated[0];
  if (!row) throw new AdminApiError(409, `delivery of ${eventId} is no longer failed`);
  logAdminAction(record);
  await getInstanceActor(env, event.stream).kick(event.stream);
  return deliveryOf(row);
}
