import { type SQL, sql } from "drizzle-orm";
import { getDb, type Db } from "../db/client";
import { getSettings } from "../env";
import { resealAdminPasswords } from "../instances/admin-password";
import { purgeKitTombstones } from "../kit/kit.repo";
import { purgeSelfCheckData } from "../operations/self-check/self-check-cleanup";
import { purgeSso } from "../sso/sso.repo";
import { log } from "../observability/log";
import type { JobCounts } from "./job-runner";

const DAY_MS = 24 * 3600_000;

/** Job history older than this is of no use to /healthz or the operator. */
export const JOB_RUN_RETENTION_MS = 30 * DAY_MS;

/**
 * Inbox rows answer the Marketplace's retries of one call and show the admin timeline. The longest documented retry
 * window is 3 h (V1 purchase and upgrade, spec §7); debug cases replayed "forever" are answered from the instance's
 * state, not from their first row. 30 days leaves room for an operator to look back over a month.
 */
export const INBOX_RETENTION_MS = 30 * DAY_MS;

/** Events stay this long after their record was accepted, so a billing dispute can be answered event by event. */
export const USAGE_EVENT_RETENTION_MS = 60 * DAY_MS;
/** Resolved problems stay this long, for the operator looking back (open problems stay until they resolve). */
export const RESOLVED_PROBLEM_RETENTION_MS = 90 * DAY_MS;
/** Software-usage entries the Marketplace took: kept a month for the operator, then deleted. */
export const LICENSE_USAGE_RETENTION_MS = 30 * DAY_MS;

/**
 * Rows deleted per statement and statements per table per run: a large backlog is worked off over several daily
 * runs instead of blowing one cron invocation's CPU and D1 limits (at most 10k rows per table per run, under 100 D1
 * queries in all; the Workers Paid plan allows 1,000 per invocation).
 */
export interface CleanupLimits {
  batch: number;
  batchesPerRun: number;
  /** Accepted usage records whose events one statement deletes. */
  recordsPerBatch: number;
}
export const CLEANUP_LIMITS: CleanupLimits = { batch: 1_000, batchesPerRun: 10, recordsPerBatch: 50 };
/** Old-format passwords re-sealed per run: 10 reads and 10 write batches of 50; a larger backlog takes a few days. */
export const PASSWORDS_RESEALED_PER_RUN = 500;

/** Interfaces whose inbox rows are kept against replays: V1 has no nonce, so its rows guard repeats (v1-endpoint.ts). */
const V1_INTERFACES = ["v1", "kit-v1"] as const;
const OTHER_INTERFACES = ["v2", "kit-v2", "order-notify", "license"] as const;

export async function cleanupJob(env: Env, now: number, limits: CleanupLimits = CLEANUP_LIMITS): Promise<JobCounts> {
  const db = getDb(env);
  const settings = getSettings(env);
  const v1MaxAgeMs = settings.v1MaxAgeMs;
  const counts: JobCounts = { noncesDeleted: 0, jobRunsDeleted: 0, inboxDeleted: 0, usageEventsDeleted: 0, usageRecordsPurged: 0 };
  counts.noncesDeleted = await inBatches(limits, (limit) =>
    db.run(sql`DELETE FROM nonces WHERE nonce IN (SELECT nonce FROM nonces WHERE expires_at < ${now} LIMIT ${limit})`),
  );
  counts.jobRunsDeleted = await inBatches(limits, (limit) =>
    db.run(sql`DELETE FROM job_runs WHERE id IN (SELECT id FROM job_runs WHERE started_at < ${now - JOB_RUN_RETENTION_MS} LIMIT ${limit})`),
  );
  for (const [iface, cutoff] of inboxCutoffs(now, v1MaxAgeMs)) {
    counts.inboxDeleted = (counts.inboxDeleted ?? 0) + (await inBatches(limits, (limit) =>
      db.run(sql`DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE interface = ${iface} AND received_at < ${cutoff} LIMIT ${limit})`),
    ));
  }
  const usage = await purgeAcceptedUsageEvents(db, now - USAGE_EVENT_RETENTION_MS, now, limits);
  counts.usageEventsDeleted = usage.events;
  counts.usageRecordsPurged = usage.records;
  counts.licenseUsageDeleted = await inBatches(limits, (limit) =>
    db.run(sql`DELETE FROM license_usage_queue WHERE id IN (SELECT id FROM license_usage_queue WHERE state = 'sent' AND sent_at < ${now - LICENSE_USAGE_RETENTION_MS} LIMIT ${limit})`),
  );
  counts.problemsDeleted = await inBatches(limits, (limit) =>
    db.run(sql`DELETE FROM problems WHERE id IN (SELECT id FROM problems WHERE resolved_at IS NOT NULL AND resolved_at < ${now - RESOLVED_PROBLEM_RETENTION_MS} LIMIT ${limit})`),
  );
  // Kit tombstones have their own retention (docs/storage.md, kit part).
  counts.kitTombstonesDeleted = await purgeKitTombstones(db, now);
  // The self-check's own debug data, a day after its run (src/operations/self-check/marker.ts).
  Object.assign(counts, await purgeSelfCheckData(db, now));
  // Single sign-on: expired states and grants (their claims are personal data), sign-ins past the timeline's month.
  counts.ssoRowsDeleted = 0;
  for (let batch = 0; batch < limits.batchesPerRun; batch += 1) {
    const deleted = await purgeSso(db, now, limits.batch);
    counts.ssoRowsDeleted += deleted;
    if (deleted < limits.batch) break;
  }
  // Passwords sealed before they were bound to their instance (data-key.ts v1): DATA_KEY is needed, so not SQL.
  const reseal = await resealAdminPasswords(db, settings.dataKey, PASSWORDS_RESEALED_PER_RUN);
  counts.passwordsResealed = reseal.resealed;
  counts.passwordsUnreadable = reseal.unreadable;
  if (reseal.unreadable > 0) log("error", "instance.password_unreadable", { instances: reseal.unreadable });
  return counts;
}

/**
 * Per interface, the time before which its inbox rows go. V1 rows stay while a V1 call that old could still be
 * accepted (V1_TIMESTAMP_MAX_AGE_SECONDS, plus a day for clock skew), and forever when that limit is off (0): their
 * row is what answers a replayed V1 URL instead of applying it again.
 */
export function inboxCutoffs(now: number, v1MaxAgeMs: number): Array<[string, number]> {
  const cutoffs: Array<[string, number]> = OTHER_INTERFACES.map((iface) => [iface, now - INBOX_RETENTION_MS]);
  if (v1MaxAgeMs > 0) {
    const v1Retention = Math.max(INBOX_RETENTION_MS, v1MaxAgeMs + DAY_MS);
    for (const iface of V1_INTERFACES) cutoffs.push([iface, now - v1Retention]);
  }
  return cutoffs;
}

/** Runs one bounded delete until it deletes less than a batch or the run's budget is spent; returns rows deleted. */
async function inBatches(limits: CleanupLimits, deleteUpTo: (limit: number) => Promise<D1Result>): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < limits.batchesPerRun; batch += 1) {
    const changes = (await deleteUpTo(limits.batch)).meta.changes;
    total += changes;
    if (changes < limits.batch) break;
  }
  return total;
}

/** Up to `limit` events of the given records, found by instance and record (usage_events_record_idx). */
export const purgeableEventsSql = (sns: SQL, limit: number) => sql`
  SELECT e.seq FROM usage_records r JOIN usage_events e ON e.instance_id = r.instance_id AND e.record_sn = r.metering_sn
  WHERE r.metering_sn IN (${sns}) LIMIT ${limit}`;

/**
 * Events of records accepted before `cutoff`, a few records at a time (oldest acceptance first, from the partial
 * index usage_records_purge_idx), each record's events through usage_events_record_idx (instance, record). A record
 * is marked once none of its events is left, so it leaves the work list and is never scanned again.
 */
async function purgeAcceptedUsageEvents(db: Db, cutoff: number, now: number, limits: CleanupLimits): Promise<{ events: number; records: number }> {
  let events = 0;
  let records = 0;
  for (let batch = 0; batch < limits.batchesPerRun; batch += 1) {
    const due = await db.all<{ metering_sn: string }>(
      sql`SELECT metering_sn FROM usage_records WHERE state = 'accepted' AND events_purged_at IS NULL AND resolved_at < ${cutoff}
          ORDER BY resolved_at LIMIT ${limits.recordsPerBatch}`,
    );
    if (due.length === 0) break;
    const sns = sql.join(
      due.map((row) => sql`${row.metering_sn}`),
      sql`, `,
    );
    const deleted = await db.run(sql`DELETE FROM usage_events WHERE seq IN (${purgeableEventsSql(sns, limits.batch)})`);
    events += deleted.meta.changes;
    const marked = await db.run(
      sql`UPDATE usage_records SET events_purged_at = ${now} WHERE metering_sn IN (${sns})
          AND NOT EXISTS (SELECT 1 FROM usage_events
            WHERE usage_events.instance_id = usage_records.instance_id AND usage_events.record_sn = usage_records.metering_sn)`,
    );
    records += marked.meta.changes;
  }
  return { events, records };
}
