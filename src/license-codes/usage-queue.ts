import { and, asc, eq, inArray, lt, lte, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type LicenseUsageRow, licenseUsageQueue } from "../db/schema/license-codes";
import { MAX_PENDING_USAGE_PER_CODE } from "./rate-limits";

/** One queued POST of the software: its entries as the API spells them (§2.4 L3). */
export type UsageEntry = { id: string } | { active_num: number };

/** A full queue's Retry-After: the licenseUsageReport job sends every five minutes. */
export const USAGE_SEND_INTERVAL_SECONDS = 300;

export function enqueueUsage(db: Db, code: string, entries: UsageEntry[], now: number): Promise<{ id: number }[]> {
  return db
    .insert(licenseUsageQueue)
    .values({ code, entries, state: "pending", attempts: 0, nextAttemptAt: now, createdAt: now, updatedAt: now })
    .returning({ id: licenseUsageQueue.id });
}

/**
 * The route's enqueue: one statement that inserts only while the code has fewer than `cap` unsent rows, so two
 * concurrent posts cannot both pass a count taken before either insert. Undefined when the queue of the code is full.
 */
export async function enqueueCapped(db: Db, code: string, entries: UsageEntry[], now: number, cap = MAX_PENDING_USAGE_PER_CODE): Promise<number | undefined> {
  const q = licenseUsageQueue;
  const rows = await db.all<{ id: number }>(sql`
    INSERT INTO ${q} (${sql.identifier(q.code.name)}, ${sql.identifier(q.entries.name)}, ${sql.identifier(q.state.name)}, ${sql.identifier(q.attempts.name)},
      ${sql.identifier(q.nextAttemptAt.name)}, ${sql.identifier(q.createdAt.name)}, ${sql.identifier(q.updatedAt.name)})
    SELECT ${code}, ${JSON.stringify(entries)}, 'pending', 0, ${now}, ${now}, ${now}
    WHERE (SELECT COUNT(*) FROM ${q} WHERE ${q.code} = ${code} AND ${q.state} IN ('pending', 'sending')) < ${cap}
    RETURNING ${sql.identifier(q.id.name)} AS id`);
  return rows[0]?.id;
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

/** The claimed rows `ids` of this batch (still ours: state sending), as one json_each list so 100 ids bind as one value. */
function claimedRows(batchId: string, ids: readonly number[]) {
  return and(
    eq(licenseUsageQueue.batchId, batchId),
    eq(licenseUsageQueue.state, "sending"),
    sql`${licenseUsageQueue.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`,
  );
}

export function markSent(db: Db, batchId: string, ids: readonly number[], now: number) {
  return db
    .update(licenseUsageQueue)
    .set({ state: "sent", sentAt: now, leaseUntil: null, lastError: null, updatedAt: now })
    .where(claimedRows(batchId, ids));
}

export function markRetry(db: Db, batchId: string, ids: readonly number[], nextAttemptAt: number, error: string, now: number) {
  return db
    .update(licenseUsageQueue)
    .set({ state: "pending", nextAttemptAt, leaseUntil: null, batchId: null, lastError: error.slice(0, 500), updatedAt: now })
    .where(claimedRows(batchId, ids));
}

export function markRejected(db: Db, batchId: string, ids: readonly number[], error: string, now: number) {
  return db
    .update(licenseUsageQueue)
    .set({ state: "rejected", leaseUntil: null, lastError: error.slice(0, 500), updatedAt: now })
    .where(claimedRows(batchId, ids));
}
