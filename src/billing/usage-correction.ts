import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "../db/client";
import { type UsageRecord, usageRecords } from "../db/schema/billing";
import { findInstance } from "../instances/instance.repo";
import { PERIOD_MS, ROLLUP_GRACE_MS, deadlineOf, meteringSnOf, periodStart, stillSendable, warnAtOf } from "./periods";

/*
 * An operator's correction of a record the Marketplace did not bill (docs/billing-rules.md rule 8). Never an edit: a
 * new record of the same instance carries the original's usage, linked by correction_of, and the push job sends it
 * like any other. It cannot reuse the original's period: one record per instance and period (the unique key), the
 * Marketplace's 010 (same instance, begin and end), and an expired period is worthless to it. So it takes the
 * latest closed period that is still sendable and has no record of the instance, else the current period, which the
 * roll-up has not written yet (the record then waits for that period's end; the period's own usage moves on to the
 * next record as late usage, as rule 1 of the roll-up already does).
 */

export type CorrectionResult =
  | { kind: "existing"; original: UsageRecord; correction: UsageRecord }
  | { kind: "not-found" }
  | { kind: "refused"; reason: string };

/** Marks the correction's row: one correction per original, found again through usage_records_rollup_idx. */
export const correctionToken = (originalSn: string): string => `correction:${originalSn}`;

/** The metering_sn's sequence 1: never a key the roll-up writes (sequence 0), so never one the Marketplace has seen. */
const CORRECTION_SEQUENCE = 1;

/** The correction written for an original, if any. */
export function findCorrection(db: Db, token: string): Promise<UsageRecord | undefined> {
  return db.select().from(usageRecords).where(eq(usageRecords.rollupToken, token)).get();
}

export type CorrectionPlan = CorrectionResult | { kind: "insert"; original: UsageRecord; row: typeof usageRecords.$inferInsert };

/** What correcting `meteringSn` at `now` means: the row to insert, the correction already made, or why not. */
export async function planCorrection(db: Db, meteringSn: string, now: number): Promise<CorrectionPlan> {
  const original = await db.select().from(usageRecords).where(eq(usageRecords.meteringSn, meteringSn)).get();
  if (!original) return { kind: "not-found" };
  const existing = await findCorrection(db, correctionToken(meteringSn));
  if (existing) return { kind: "existing", original, correction: existing };
  if (original.state !== "rejected" && original.state !== "expired") {
    return { kind: "refused", reason: `usage record ${meteringSn} is ${original.state}: only rejected or expired records are corrected` };
  }
  if (original.expiryCheck === "due") {
    return { kind: "refused", reason: `usage record ${meteringSn} may still be held by the Marketplace: the push job checks it once more after its deadline` };
  }
  const instance = await findInstance(db, original.instanceId);
  if (!instance) return { kind: "refused", reason: `instance ${original.instanceId} of usage record ${meteringSn} does not exist` };
  const period = original.period;
  const length = PERIOD_MS[period];
  const releasedAt = instance.status === "released" ? instance.releasedAt : null;
  const latestClosed = periodStart(period, now - ROLLUP_GRACE_MS) - length;
  const current = periodStart(period, now);
  const candidates = [latestClosed, current].filter(
    (p) => (releasedAt === null || p < releasedAt) && p + length > instance.createdAt && (p === current || stillSendable(period, p, now)),
  );
  const taken =
    candidates.length === 0
      ? []
      : await db
          .select({ periodBegin: usageRecords.periodBegin })
          .from(usageRecords)
          .where(and(eq(usageRecords.instanceId, instance.id), inArray(usageRecords.periodBegin, candidates)))
          .all();
  const p = candidates.find((begin) => !taken.some((row) => row.periodBegin === begin));
  if (p === undefined) {
    return {
      kind: "refused",
      reason:
        releasedAt !== null && releasedAt <= latestClosed
          ? `instance ${instance.id} was released: no period is left that the Marketplace would still take`
          : `instance ${instance.id} has records for every period a correction could take now; try again after ${new Date(current + length).toISOString()}`,
    };
  }
  const endTime = releasedAt !== null && releasedAt < p + length ? releasedAt : p + length;
  return {
    kind: "insert",
    original,
    row: {
      meteringSn: meteringSnOf(instance.id, period, p, CORRECTION_SEQUENCE),
      instanceId: instance.id,
      productId: original.productId,
      period,
      periodBegin: p,
      beginTime: Math.max(p, instance.createdAt),
      endTime,
      coverFrom: original.coverFrom,
      coverTo: original.coverTo,
      usageUnits: original.usageUnits,
      usageValue: original.usageValue,
      // The events stay with the original (their record_sn); the correction only carries their sum.
      eventCount: 0,
      lateUnits: original.usageUnits,
      correctionOf: original.meteringSn,
      state: "pending",
      attempts: 0,
      deliveries: 0,
      // A closed period goes out with the next push; the current one once it has ended, like the roll-up's records.
      nextAttemptAt: p === current ? p + length + ROLLUP_GRACE_MS : now,
      deadline: deadlineOf(period, p),
      warnAt: warnAtOf(period, p),
      rollupToken: correctionToken(original.meteringSn),
      createdAt: now,
      updatedAt: now,
    },
  };
}

/** The insert, guarded by both unique keys: a roll-up that took the period first makes it write nothing. */
export function insertCorrection(db: Db, row: typeof usageRecords.$inferInsert) {
  return db.insert(usageRecords).values(row).onConflictDoNothing();
}
