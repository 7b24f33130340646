import { z } from "zod";

/**
 * The thirteen problem kinds (public names: README "Operate it"). The first seven are conditions that clear by
 * themselves when they stop; the other six are final outcomes a person closes with POST /admin/api/problems/{id}/resolve.
 */
export const CLEARING_KINDS = [
  "query_order.failing",
  "delivery.failing",
  "usage_push.failing",
  "job.stale",
  "self_check.failed",
  "settings.invalid",
  "alert.failing",
] as const;

export const FINAL_KINDS = [
  "callback.failed",
  "provisioning.failed",
  "delivery.failed",
  "usage_push.expired",
  "usage.rejected",
  "license.delivery_failed",
] as const;

export const ProblemKind = z.enum([...CLEARING_KINDS, ...FINAL_KINDS]);
export type ProblemKind = z.infer<typeof ProblemKind>;

export const ProblemSeverity = z.enum(["warning", "critical"]);
export type ProblemSeverity = z.infer<typeof ProblemSeverity>;

/**
 * Critical: money or a buyer is lost unless someone acts (a purchase refunded after its 3-hour window, usage past its
 * deadline, the Marketplace's dial tests failing, every callback answering 000005, a stalled scheduler). Warning: the
 * gateway retries or the seller has another way in (the event feed, a resend), or it is about the alerting itself.
 * ALERT_MIN_SEVERITY=critical mutes the warnings' alerts; the problems list shows both.
 */
export const SEVERITY: Record<ProblemKind, ProblemSeverity> = {
  "query_order.failing": "critical",
  "delivery.failing": "warning",
  "usage_push.failing": "critical",
  "job.stale": "critical",
  "self_check.failed": "warning",
  "settings.invalid": "critical",
  "alert.failing": "warning",
  "callback.failed": "critical",
  "provisioning.failed": "critical",
  "delivery.failed": "warning",
  "usage_push.expired": "critical",
  "usage.rejected": "warning",
  "license.delivery_failed": "critical",
};

const clearing: ReadonlySet<string> = new Set(CLEARING_KINDS);

export function clearsByItself(kind: ProblemKind): boolean {
  return clearing.has(kind);
}

/**
 * Where the admin page links a problem, by kind: the instance timeline (subject = instance id), the deliveries, the
 * jobs, the usage report, or the health API (settings, self-check, alerts).
 */
export type ProblemPlace = "instance" | "deliveries" | "jobs" | "usage" | "health";

export const PLACE: Record<ProblemKind, ProblemPlace> = {
  "query_order.failing": "instance",
  "callback.failed": "instance",
  "provisioning.failed": "instance",
  "license.delivery_failed": "instance",
  "delivery.failing": "deliveries",
  "delivery.failed": "deliveries",
  "job.stale": "jobs",
  "usage_push.failing": "usage",
  "usage_push.expired": "usage",
  "usage.rejected": "usage",
  "self_check.failed": "health",
  "settings.invalid": "health",
  "alert.failing": "health",
};
