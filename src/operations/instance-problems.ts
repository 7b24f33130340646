import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import type { EventRow } from "../db/schema/events";
import type { Instance } from "../db/schema/instances";
import type { EventDraft } from "../events/outbox";
import { PROVISIONING_WINDOW_MS } from "../instances/provisioning-window";
import type { AlertConfig } from "./alert-settings";
import { type ProblemReport, clearStatement, problemLink } from "./problems";

/*
 * The problems the instance actor reports, as reports: what it costs and what to do, in words an operator acts on.
 * The actor decides when (src/actor/instance.actor.ts); these say what.
 */

/** Query order fails this many times in a row for a purchase (the first try within the answer included): a problem. */
export const QUERY_ORDER_FAILING_AFTER = 3;
/** A webhook event's delivery fails this many times in a row: delivery.failing (one blip is retried quietly). */
export const DELIVERY_FAILING_AFTER = 3;

const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;

export function queryOrderFailing(instance: Instance, attempts: number, error: string, gaveUp: boolean): ProblemReport {
  const deadline = instance.createdAt + PROVISIONING_WINDOW_MS;
  const cost = instance.isTest
    ? "a debug purchase"
    : instance.provisionedAt === null
      ? `not provisioned: the Marketplace refunds it unless provisioned by ${utc(deadline)}`
      : "its new order terms are not applied";
  return {
    kind: "query_order.failing",
    subject: instance.id,
    summary: `Query order for order ${instance.orderId} ${gaveUp ? "gave up" : "fails"} after ${attempts} attempts (${error.slice(0, 120)}): ${cost}.`,
    detail: `Check MARKETPLACE_AK/MARKETPLACE_SK and MARKETPLACE_API_BASE (GET /admin/api/health), then the timeline ${problemLink("query_order.failing", instance.id)}.${
      gaveUp ? " The gateway stopped retrying: POST /admin/api/instances/{id}/retry-provisioning starts over." : " The gateway keeps retrying with backoff."
    }`,
  };
}

/** A general product's order line (OrderActor): its order.notified waits for query order. Subject: order and line. */
export function generalOrderFailing(orderId: string, orderLineId: string, attempts: number, error: string, gaveUp: boolean): ProblemReport {
  return {
    kind: "query_order.failing",
    subject: generalOrderSubject(orderId, orderLineId),
    summary: `Query order for general order ${orderId} ${gaveUp ? "gave up" : "fails"} after ${attempts} attempts (${error.slice(0, 120)}): your backend is not told of the order (order.notified waits).`,
    detail: `Check MARKETPLACE_AK/MARKETPLACE_SK and MARKETPLACE_API_BASE (GET /admin/api/health); GET /api/v1/orders/${orderId} shows the line.${
      gaveUp ? " The gateway stopped retrying: a new notification from the Marketplace (重新启动 in the seller centre) fetches it again." : " The gateway keeps retrying with backoff."
    }`,
  };
}

export const generalOrderSubject = (orderId: string, orderLineId: string) => `order ${orderId} line ${orderLineId}`;

export function provisioningFailed(instance: Instance): ProblemReport {
  const what = instance.isTest ? "Debug purchase" : "Purchase";
  return {
    kind: "provisioning.failed",
    subject: instance.id,
    summary: `${what} of order ${instance.orderId} failed (${instance.failureCode ?? "000005"}: ${(instance.failureReason ?? "").slice(0, 120)})${instance.isTest ? "" : ": the buyer is refunded unless a retry provisions it"}.`,
    detail: `Timeline: ${problemLink("provisioning.failed", instance.id)}. The Marketplace retries newInstance within its 3-hour window; POST /admin/api/instances/${instance.id}/retry-provisioning starts over now.`,
  };
}

export function licenseDeliveryFailed(draft: EventDraft): ProblemReport | undefined {
  if (draft.type !== "license.delivery_failed" || !draft.instanceId) return undefined;
  const eventId = String(draft.data.eventId ?? "");
  const code = String(draft.data.lastErrorCode ?? "error");
  return {
    kind: "license.delivery_failed",
    subject: draft.instanceId,
    summary: `Online license ${eventId} could not be delivered (${code}: ${String(draft.data.lastError ?? "").slice(0, 120)}): the buyer has no license.`,
    detail: `Timeline: ${problemLink("license.delivery_failed", draft.instanceId)}; GET /api/v1/licenses/${eventId} shows the attempts. A new getLicenseAsync from the Marketplace tries again.`,
  };
}

export function deliveryFailing(origin: string, event: EventRow, attempts: number, reason: string): ProblemReport {
  return {
    kind: "delivery.failing",
    subject: origin,
    summary: `Webhooks to ${origin} fail (${reason.slice(0, 120)}): your backend is not told of ${event.type} and later events of ${event.stream}; retried for 24 hours.`,
    detail: `Event ${event.id} (${event.type}, stream ${event.stream}) failed ${attempts} attempts. The event feed GET /api/v1/events still has every event. Clears when deliveries are acknowledged again.`,
  };
}

export function deliveryFailed(origin: string, event: EventRow, attempts: number, reason: string): ProblemReport {
  return {
    kind: "delivery.failed",
    subject: origin,
    summary: `A webhook to ${origin} failed for good: ${event.type} of ${event.stream} after ${attempts} attempts (${reason.slice(0, 120)}).`,
    detail: `Event ${event.id}. Resend it from the Deliveries tab (POST /admin/api/deliveries/${event.id}/resend) once your backend answers 2xx; the feed GET /api/v1/events has it meanwhile.`,
  };
}

/**
 * Resolves delivery.failing of `origin` in the batch that records an acknowledged delivery, unless some event is
 * still failing repeatedly: one event your backend keeps refusing must not make the problem flap open and shut.
 */
export function deliveryFailingClear(db: Db, origin: string, now: number, config: AlertConfig) {
  const stillFailing = sql`EXISTS (SELECT 1 FROM events WHERE delivery_state = 'pending' AND attempts >= ${DELIVERY_FAILING_AFTER})`;
  return clearStatement(db, "delivery.failing", origin, now, config, stillFailing);
}
