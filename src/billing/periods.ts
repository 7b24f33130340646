import { createHash } from "node:crypto";
import type { UsagePeriod } from "../db/schema/billing";
import type { Settings } from "../env";

/**
 * Billing periods and push deadlines, spec README point 10 and open-apis §2.3.5. All in UTC epoch ms:
 *   hourly: the record of hour H goes out in minutes 0–15 of H+1 and is worthless after 2 h;
 *   daily:  the record of day D goes out by 00:15 of D+1 and never after 01:00.
 * These are the one place to change when the Marketplace says otherwise.
 */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export const PERIOD_MS: Readonly<Record<UsagePeriod, number>> = { hourly: HOUR_MS, daily: DAY_MS };

/** From the period's end to the last moment a record of it is still worth sending. */
export const PUSH_WINDOW_MS: Readonly<Record<UsagePeriod, number>> = { hourly: 2 * HOUR_MS, daily: HOUR_MS };

/**
 * A period is rolled up this long after it ends, so an event the seller reports a moment after the hour turns still
 * lands in its own record instead of becoming a correction. With the 5-minute cron the first roll-up (and push) of
 * hour H runs at H+1:05, inside the ideal window.
 */
export const ROLLUP_GRACE_MS = 2 * 60_000;

/** No record is sent this close to its deadline: the call could complete after it. */
export const PUSH_SAFETY_MS = 60_000;

/** At this fraction of the push window an unconfirmed record is logged as at risk. */
export const WARN_FRACTION = 0.75;

export function periodOf(settings: Settings, productId: string | null): UsagePeriod {
  return productId !== null && settings.billing.dailyBilledProducts.has(productId) ? "daily" : "hourly";
}

export function periodStart(period: UsagePeriod, time: number): number {
  const length = PERIOD_MS[period];
  return Math.floor(time / length) * length;
}

export function deadlineOf(period: UsagePeriod, periodBegin: number): number {
  return periodBegin + PERIOD_MS[period] + PUSH_WINDOW_MS[period];
}

export function warnAtOf(period: UsagePeriod, periodBegin: number): number {
  return periodBegin + PERIOD_MS[period] + Math.floor(PUSH_WINDOW_MS[period] * WARN_FRACTION);
}

/** Whether a record of this period can still be written and sent in time at `now`. */
export function stillSendable(period: UsagePeriod, periodBegin: number, now: number): boolean {
  return now < deadlineOf(period, periodBegin) - PUSH_SAFETY_MS;
}

/**
 * The record's idempotency key towards the Marketplace (metering_sn, ≤ 64 characters). A pure function of what
 * identifies the record, so a roll-up that dies and runs again writes the same key, and the Marketplace's duplicate
 * check (code 005) catches a resend. The trailing sequence number leaves room for a second record of one period,
 * which the current design never makes.
 */
export function meteringSnOf(instanceId: string, period: UsagePeriod, periodBegin: number, sequence = 0): string {
  return createHash("sha256").update(`usage-record:v1|${instanceId}|${period}|${periodBegin}|${sequence}`).digest("hex");
}
