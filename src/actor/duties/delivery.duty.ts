import type { EventRow } from "../../db/schema/events";
import type { Instance } from "../../db/schema/instances";
import { problems } from "../../db/schema/problems";
import { type DeliveryAttempt, describeAttempt, sendEvent } from "../../events/delivery";
import { outboxStatements, pendingEventsOf } from "../../events/outbox";
import { SELLER_WINDOW_MISSED, awaitsSeller, judgeDelivery, provisionedBySeller, purchaseFailed } from "../../instances/seller-provisioning";
import { licenseRequestDelivered } from "../../license/license-flow";
import { log } from "../../observability/log";
import { alertConfigOf } from "../../operations/alert-settings";
import { DELIVERY_FAILING_AFTER, deliveryFailed, deliveryFailing, deliveryFailingClear } from "../../operations/instance-problems";
import { afterClear } from "../../operations/problems";
import { ResultCode } from "../../protocol/result-codes";
import type { Duty } from "../alarm-scheduler";
import { commit, commitLicense } from "../commit";
import { type InstanceScope, KV, background, load, problem } from "../instance-scope";
import { closeWindowIfDue } from "./provisioning-window.duty";

/**
 * Webhook delivery of this actor's event stream to the seller's backend (retry schedule: src/instances/seller-provisioning.ts
 * judgeDelivery), one event at a time, each attempt's verdict committed with what it does to the purchase.
 */
export const deliveryDuty: Duty = {
  name: "delivery",
  nextDue: (s) => s.kv.get<number>(KV.deliveryDueAt),
  async run(s) {
    const stream = s.kv.get<Instance>(KV.instance)?.id ?? s.kv.get<string>(KV.stream);
    if (stream) await deliverDue(s, stream);
  },
};

/** Single flight: the alarm, a create and a kick share one delivery loop per actor. */
export function deliverDue(s: InstanceScope, stream: string): Promise<void> {
  if (!s.flights.delivering) {
    s.kv.put(KV.stream, stream);
    s.flights.delivering = deliveryLoop(s, stream).finally(() => {
      s.flights.delivering = null;
    });
  }
  return s.flights.delivering;
}

/** Sends the stream's events in order: the next waits until the previous is acknowledged or has failed. */
async function deliveryLoop(s: InstanceScope, stream: string): Promise<void> {
  const target = s.settings.sellerWebhook;
  for (;;) {
    const [event] = await pendingEventsOf(s.db, stream, 1);
    if (!event || !target) {
      s.kv.delete(KV.deliveryDueAt);
      return;
    }
    const dueAt = event.nextAttemptAt ?? Date.now();
    if (dueAt > Date.now()) {
      s.kv.put(KV.deliveryDueAt, dueAt);
      return;
    }
    const attempt = await sendEvent(target, event, Date.now());
    await s.serialize(() => recordAttempt(s, stream, event, attempt, Date.now()));
  }
}

/** The seller backend answered a provisioning request: its delivery.failing clears (in the background here). */
function backendAnswered(s: InstanceScope, origin: string, now: number): void {
  background(s, async () => {
    const cleared = await deliveryFailingClear(s.db, origin, now, alertConfigOf(s.env)).returning({ id: problems.id, alertResolved: problems.alertResolved });
    await afterClear(s.env, "delivery.failing", origin, cleared);
  });
}

/** The attempt's verdict (src/instances/seller-provisioning.ts) committed with what it does to the purchase. */
async function recordAttempt(s: InstanceScope, stream: string, event: EventRow, attempt: DeliveryAttempt, now: number): Promise<void> {
  const db = s.db;
  // Problems are about the seller backend as a whole (its origin: the URL's path may hold a token).
  const origin = new URL(s.settings.sellerWebhook?.url ?? "http://unknown.invalid").origin;
  if (event.type === "license.requested") {
    const outcome = await licenseRequestDelivered(db, event, attempt, now);
    await commitLicense(s, outcome, now, outcome.issued);
    if (outcome.retryAt !== undefined) {
      s.kv.put(KV.deliveryDueAt, outcome.retryAt);
      if (event.attempts + 1 >= DELIVERY_FAILING_AFTER) problem(s, deliveryFailing(origin, event, event.attempts + 1, describeAttempt(attempt)), now);
    } else if (attempt.kind === "answered" && attempt.status >= 200 && attempt.status < 300) {
      backendAnswered(s, origin, now);
    }
    return;
  }
  const loaded = event.instanceId ? await load(s, event.instanceId) : undefined;
  // A seller's answer after the window is no answer: the purchase has failed, the event is merely delivered.
  const instance = loaded ? await closeWindowIfDue(s, loaded, now) : undefined;
  const awaiting = awaitsSeller(event, instance, s.settings) ? instance : undefined;
  const verdict = judgeDelivery(event, attempt, awaiting !== undefined, now);
  const status = attempt.kind === "answered" ? attempt.status : null;
  const delivered = outboxStatements.markDelivered(db, event.seq, status ?? 0, now);
  switch (verdict.kind) {
    case "delivered": {
      // In the acknowledgement's own batch: a healthy backend costs no extra round trip.
      const [, cleared] = await db.batch([delivered, deliveryFailingClear(db, origin, now, alertConfigOf(s.env)).returning({ id: problems.id, alertResolved: problems.alertResolved })]);
      if (cleared.length > 0) background(s, () => afterClear(s.env, "delivery.failing", origin, cleared));
      return;
    }
    case "provisioned":
      if (!awaiting) return;
      await commit(s, awaiting, await provisionedBySeller(awaiting, verdict.body, s.settings.dataKey, now, "provisionedByWebhook"), now, { statements: [delivered] });
      backendAnswered(s, origin, now);
      return;
    case "refused":
      if (!awaiting) return;
      await commit(s, awaiting, purchaseFailed(awaiting, verdict.resultCode, verdict.message, now), now, { statements: [delivered] });
      backendAnswered(s, origin, now);
      return;
    case "retry":
      log("warn", "webhook.attempt_failed", { stream, eventId: event.id, type: event.type, attempts: verdict.attempts, reason: verdict.reason.slice(0, 200) });
      await db.batch([outboxStatements.markRetry(db, event.seq, { attempts: verdict.attempts, nextAttemptAt: verdict.nextAttemptAt, status, error: verdict.reason.slice(0, 500) }, now)]);
      s.kv.put(KV.deliveryDueAt, verdict.nextAttemptAt);
      // After the batch: an acknowledgement elsewhere now sees this event's attempts and leaves the problem open.
      if (verdict.attempts >= DELIVERY_FAILING_AFTER) problem(s, deliveryFailing(origin, event, verdict.attempts, verdict.reason), now);
      return;
    case "give-up": {
      log("error", "webhook.delivery_failed", { stream, eventId: event.id, type: event.type, attempts: verdict.attempts, reason: verdict.reason.slice(0, 200) });
      problem(s, deliveryFailed(origin, event, verdict.attempts, verdict.reason), now);
      const failed = outboxStatements.markFailed(db, event.seq, { attempts: verdict.attempts, status, error: verdict.reason.slice(0, 500) }, now);
      if (verdict.failPurchase && awaiting) await commit(s, awaiting, purchaseFailed(awaiting, ResultCode.InternalError, SELLER_WINDOW_MISSED, now), now, { statements: [failed] });
      else await db.batch([failed]);
      return;
    }
    default: {
      const unhandled: never = verdict;
      throw new Error(`unhandled delivery verdict ${JSON.stringify(unhandled)}`);
    }
  }
}
