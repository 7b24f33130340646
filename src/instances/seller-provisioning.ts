import { openAdminPassword, sealAdminPassword } from "./admin-password";
import type { EventRow } from "../db/schema/events";
import type { Instance } from "../db/schema/instances";
import type { Settings } from "../env";
import { type DeliveryAttempt, DELIVERY_WINDOW_MS, describeAttempt, retryDelayMs } from "../events/delivery";
import type { InstanceChange } from "./instance-change";
import { instanceEvent } from "./instance-events";
import { readProvisioningAnswer } from "./provisioning/webhook-answer";
import type { ProvisionedBody } from "./seller-commands";

/** The seller's backend (or its POST …/provisioned) provisioned the purchase: the buyer's way in is what it said. */
export async function provisionedBySeller(instance: Instance, body: ProvisionedBody, dataKey: string, now: number, by: string): Promise<InstanceChange> {
  const next: Instance = {
    ...instance,
    status: instance.status === "provisioning" ? "active" : instance.status,
    frontendUrl: body.frontEndUrl,
    adminUrl: body.adminUrl ?? null,
    adminUserName: body.userName ?? null,
    adminPasswordSealed: body.password ? await sealAdminPassword(dataKey, instance.id, body.password) : null,
    memo: body.memo ?? null,
    provisionedAt: now,
    version: instance.version + 1,
    updatedAt: now,
  };
  return { next, events: [instanceEvent("instance.provisioned", next, now)], auditEvent: by, auditDetail: { frontEndUrl: body.frontEndUrl } };
}

/** The purchase failed with the code the Marketplace gets (the seller's 000100–000107, else 000005). */
export function purchaseFailed(instance: Instance, resultCode: string, reason: string, now: number): InstanceChange {
  // A freeze of the unprovisioned purchase ends with it: `failed` is terminal for status changes.
  const next: Instance = {
    ...instance,
    status: "failed",
    frozenReason: null,
    frozenAt: null,
    failureCode: resultCode,
    failureReason: reason.slice(0, 255),
    version: instance.version + 1,
    updatedAt: now,
  };
  return {
    next,
    events: [instanceEvent("instance.failed", next, now, { reason: next.failureReason, resultCode })],
    auditEvent: "provisioningFailed",
    auditDetail: { resultCode, reason: next.failureReason },
  };
}

/** Why the seller may not provision or fail this instance now; undefined when it may. */
export function notAwaitingSeller(instance: Instance, settings: Settings): string | undefined {
  if (instance.isTest) return "a debug purchase is provisioned by the gateway";
  if (settings.provisioning.mode !== "webhook") return "PROVISIONING_MODE is builtin: the gateway provisions every purchase";
  if (instance.status === "released") return "instance has been released";
  if (instance.status === "failed") return "instance has failed";
  if (instance.orderKnownAt === null) return "instance is waiting for its order; instance.created has not been sent";
  return undefined;
}

/** A repeated POST …/provisioned is a success only with the very details that provisioned it. */
export async function sameProvisioning(instance: Instance, body: ProvisionedBody, dataKey: string): Promise<boolean> {
  const password = instance.adminPasswordSealed ? await openAdminPassword(dataKey, instance, instance.adminPasswordSealed) : undefined;
  return (
    instance.frontendUrl === body.frontEndUrl &&
    instance.adminUrl === (body.adminUrl ?? null) &&
    instance.adminUserName === (body.userName ?? null) &&
    password === body.password &&
    instance.memo === (body.memo ?? null)
  );
}

/** Whether this delivery is the provisioning request of a purchase still waiting for the seller's backend. */
export function awaitsSeller(event: EventRow, instance: Instance | undefined, settings: Settings): instance is Instance {
  return (
    event.type === "instance.created" &&
    instance !== undefined &&
    !event.isTest &&
    settings.provisioning.mode === "webhook" &&
    instance.provisionedAt === null &&
    (instance.status === "provisioning" || instance.status === "frozen")
  );
}

/** What one webhook attempt means for its event and, for a provisioning request, for the purchase. */
export type DeliveryVerdict =
  | { kind: "delivered" }
  | { kind: "provisioned"; body: ProvisionedBody }
  | { kind: "refused"; resultCode: string; message: string }
  | { kind: "retry"; attempts: number; nextAttemptAt: number; reason: string }
  /** Out of time: the delivery failed; `failPurchase` when the purchase it was to provision fails with it. */
  | { kind: "give-up"; attempts: number; reason: string; failPurchase: boolean };

/**
 * docs/seller-contract.md: a 2xx acknowledges; anything else is retried (30 s, doubling, at most an hour apart) for 24 hours;
 * a provisioning request is read as the seller's answer (200 / 202 / 409-422) and retried only within the
 * Marketplace's 3-hour window, after which the purchase fails.
 */
export function judgeDelivery(event: EventRow, attempt: DeliveryAttempt, awaitingSeller: boolean, now: number): DeliveryVerdict {
  let reason: string;
  if (awaitingSeller) {
    const answer = readProvisioningAnswer(attempt);
    if (answer.kind === "provisioned") return { kind: "provisioned", body: answer.body };
    if (answer.kind === "accepted") return { kind: "delivered" };
    if (answer.kind === "refused") return { kind: "refused", resultCode: answer.resultCode, message: answer.message };
    reason = answer.reason;
  } else {
    if (attempt.kind === "answered" && attempt.status >= 200 && attempt.status < 300) return { kind: "delivered" };
    reason = describeAttempt(attempt);
  }
  const attempts = event.attempts + 1;
  const deadline = event.deliverBy ?? event.createdAt + DELIVERY_WINDOW_MS;
  const nextAttemptAt = now + retryDelayMs(attempts);
  if (now >= deadline || (awaitingSeller && event.deliverBy !== null && nextAttemptAt > deadline)) {
    return { kind: "give-up", attempts, reason, failPurchase: awaitingSeller };
  }
  return { kind: "retry", attempts, nextAttemptAt, reason };
}

export const SELLER_WINDOW_MISSED = "the seller's backend did not provision the purchase within the Marketplace's 3-hour window";
export const ORDER_NEVER_FETCHED = "the order could not be fetched from query order";
