import { and, asc, eq, inArray, lt, lte, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type LicenseUsageRow, licenseUsageQueue } from "../db/schema/license-codes";

/** One queued POST of the software: its entries as the API spells them (§2.4 L3). */
export type UsageEntry = { id: string } | { active_num: number };

export function enqueueUsage(db: Db, code: string, entries: UsageEntry[], now: number): Promise<{ id: number }[]> {
  return db
    .insert(licenseUsageQueue)
    .values({ code, entries, state: "pending", attempts: 0, nextAttemptAt: now, createdAt: now, updatedAt: now })
    .returning({ id: licenseUsageQueue.id });
}

/**
 * Claims up to `limit` due rows for one batch in a single UPDATE (so two runs never claim the same row): pending rows
 * whose retry time has come, and rows whose earlier claim's lease ran out (that run died before it recorded the
 * answer). Returns the claimed rows, oldest first.
 */
export async function claimBatch(db: Db, batchId: string, limit: number, leaseMs: number, now: number): Promise<LicenseUsageRow[]> {
  const due = db
    .select({ id: licenseUsageQueue.id })
    .from(licenseUsageQueue)
    .where(
      or(
        and(eq(licenseUsageQueue.state, "pending"), lte(licenseUsageQueue.nextAttemptAt, now)),
        and(eq(licenseUsageQueue.state, "sending"), lt(licenseUsageQueue.leaseUntil, now)),
      ),
    )
    .orderBy(asc(licenseUsageQueue.id))
    .limit(limit);
  await db
    .update(licenseUsageQueue)
    .set({ state: "sending", batchId, leaseUntil: now + leaseMs, attempts: sql`${licenseUsageQueue.attempts} + 1`, updatedAt: now })
    .where(inArray(licenseUsageQueue.id, due));
  return db.select().from(licenseUsageQueue).where(and(eq(licenseUsageQueue.batchId, batchId), eq(licenseUsageQueue.state, "sending"))).orderBy(asc(licenseUsageQueue.id)).all();
}

export function markSent(db: Db, batchId: string, now: number) {
  return db
    .update(licenseUsageQueue)
    .set({ state: "sent", sentAt: now, leaseUntil: null, lastError: null, updatedAt: now })
    .where(and(eq(licenseUsageQueue.batchId, batchId), eq(licenseUsageQueue.state, "sending")));
}

export function markRetry(db: Db, batchId: string, nextAttemptAt: number, error: string, now: number) {
  return db
    .update(licenseUsageQueue)
    .set({ state: "pending", nextAttemptAt, leaseUntil: null, batchId: null, lastError: error.slice(0, 500), updatedAt: now })
    .where(and(eq(licenseUsageQueue.batchId, batchId), eq(licenseUsageQueue.state, "sending")));
}

export function markRejected(db: Db, batchId: string, error: string, now: number) {
  return db
    .update(licenseUsageQueue)
    .set({ state: "rejected", leaseUntil: null, lastError: error.slice(0, 500), updatedAt: now })
    .where(and(eq(licenseUsageQueue.batchId, batchId), eq(licenseUsageQueue.state, "sending")));
}
