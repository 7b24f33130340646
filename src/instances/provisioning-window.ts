import type { Instance } from "../db/schema/instances";
import { ResultCode } from "../protocol/result-codes";
import type { InstanceChange } from "./instance-change";
import { purchaseFailed } from "./seller-provisioning";

/**
 * The Marketplace retries a new purchase for 3 hours, then judges it failed and refunds it (spec §7). One window for
 * every provisioning mode, counted from the purchase's first newInstance: the builtin adapter's order fetches and the
 * seller backend's answers (instance.created's delivery deadline) both end there.
 */
export const PROVISIONING_WINDOW_MS = 3 * 3600_000;

export const WINDOW_CLOSED_WITHOUT_ORDER = "the order could not be fetched within the Marketplace's 3-hour window; the Marketplace fails and refunds the purchase";
export const WINDOW_CLOSED_UNPROVISIONED = "not provisioned within the Marketplace's 3-hour window; the Marketplace fails and refunds the purchase";

/** When the Marketplace stops waiting for this purchase. */
export function provisioningDeadline(instance: Instance): number {
  return instance.createdAt + PROVISIONING_WINDOW_MS;
}

/** A real purchase not provisioned yet: the window decides its fate (debug purchases are provisioned at once). */
export function awaitsProvisioning(instance: Instance): boolean {
  return !instance.isTest && instance.provisionedAt === null && (instance.status === "provisioning" || instance.status === "frozen");
}

export function windowClosed(instance: Instance, now: number): boolean {
  return now >= provisioningDeadline(instance);
}

/** The purchase's failure once its window has closed unprovisioned; undefined while it may still be provisioned. */
export function windowExpiry(instance: Instance, now: number): InstanceChange | undefined {
  if (!awaitsProvisioning(instance) || !windowClosed(instance, now)) return undefined;
  const reason = instance.orderKnownAt === null ? WINDOW_CLOSED_WITHOUT_ORDER : WINDOW_CLOSED_UNPROVISIONED;
  return { ...purchaseFailed(instance, ResultCode.InternalError, reason, now), auditEvent: "provisioningWindowClosed" };
}
