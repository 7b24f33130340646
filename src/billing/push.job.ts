import { sql } from "drizzle-orm";
import { type Db, getDb } from "../db/client";
import { getSettings } from "../env";
import type { Job, JobCounts } from "../jobs/job-runner";
import { MarketplaceApiError } from "../marketplace-api/errors";
import {
  MAX_RECORDS_PER_PUSH,
  RECORD_CODES,
  type UsagePushConfig,
  type UsagePushResult,
  type UsageRecordToPush,
  pushUsage,
  usagePushConfigOf,
} from "../marketplace-api/usage.api";
import { log } from "../observability/log";
import { PUSH_SAFETY_MS } from "./periods";

/**
 * Sends due usage records (issue 5, design.md "usage is a ledger"). Every 5 minutes:
 *   1. records that can no longer be sent in time become `expired`;
 *   2. due records are claimed in batches of up to 1000 with one UPDATE … RETURNING that sets a lease, so two
 *      overlapping runs never hold the same record; the claim also counts the attempt and marks the record `sent`
 *      before the call, so a run that dies after sending leaves a record that is resent, with the same metering_sn,
 *      once the lease runs out (the Marketplace then answers 005, which for a record sent before means accepted);
 *   3. the Marketplace's answer moves each record to accepted / rejected (its record code kept) or back to waiting
 *      with backoff, never past its deadline. Every write is guarded by the lease, so a run that lost its lease
 *      changes nothing.
 */

/** Longer than a run's slowest batch (a split batch makes up to MAX_CALLS_PER_RUN calls of ≤ 8 s); equals the cron interval. */
export const LEASE_MS = 5 * 60_000;
/** Waits after the 1st, 2nd, 3rd, … failed attempt; the cron's 5-minute grain rounds them up. */
export const RETRY_BACKOFF_MS = [5 * 60_000, 10 * 60_000, 20 * 60_000, 30 * 60_000] as const;
/** Bounds one run's calls (and so its duration); what is left waits for the next run. */
export const MAX_CALLS_PER_RUN = 60;

/**
 * Whole-call refusals that say nothing about the records (our signature, key or permissions): resending unchanged
 * records after the seller fixes the configuration will work, so they wait, and the run logs an error. Every other
 * final code (MKT.0100/0101/0199/0150/9001–9005) is about some record in the batch, so the batch is split until the
 * record is alone, and that record alone is rejected with the call's code.
 */
const CONFIGURATION_CODES = new Set(["MKT.0102", "MKT.0151", "MKT.0154", "CBC.0151", "CBC.0154"]);

export function retryDelay(attempts: number): number {
  return RETRY_BACKOFF_MS[Math.min(attempts, RETRY_BACKOFF_MS.length) - 1] ?? RETRY_BACKOFF_MS[0];
}

export interface PushDeps {
  push: (config: UsagePushConfig, records: UsageRecordToPush[], now: Date) => Promise<UsagePushResult>;
}

type Outcome =
  | { sn: string; state: "accepted"; duplicate: boolean }
  | { sn: string; state: "rejected"; code: string; message: string }
  | { sn: string; state: "sent" | "pending"; error: string; next: number };

/** What a claim returns: the columns a push and its outcome need. */
interface ClaimedRecord {
  meteringSn: string;
  instanceId: string;
  productId: string | null;
  beginTime: number;
  endTime: number;
  usageValue: string;
  /** Including the attempt being made now. */
  attempts: number;
  deadline: number;
  createdAt: number;
}

interface RunState {
  calls: number;
  configurationErrors: number;
}

async function expireOverdue(db: Db, now: number): Promise<number> {
  const rows = await db.all<{ metering_sn: string }>(sql`
    UPDATE usage_records SET
      state = 'expired',
      reject_message = CASE WHEN attempts > 0
        THEN 'sent ' || attempts || ' time(s), never confirmed before the deadline'
        ELSE 'never sent before the deadline' END,
      resolved_at = ${now}, lease_owner = NULL, lease_until = NULL, updated_at = ${now}
    WHERE state IN ('pending', 'sent')
      AND deadline <= ${now + PUSH_SAFETY_MS}
      AND (lease_until IS NULL OR lease_until <= ${now})
    RETURNING metering_sn`);
  return rows.length;
}

/** Atomic claim: the inner SELECT and the UPDATE are one statement, so a record leased here is invisible to other runs. */
async function claimBatch(db: Db, runId: string, now: number, limit: number): Promise<ClaimedRecord[]> {
  const rows = await db.all<Record<string, unknown>>(sql`
    UPDATE usage_records SET
      state = 'sent', attempts = attempts + 1, lease_owner = ${runId}, lease_until = ${now + LEASE_MS},
      first_sent_at = COALESCE(first_sent_at, ${now}), last_sent_at = ${now}, updated_at = ${now}
    WHERE metering_sn IN (
      SELECT metering_sn FROM usage_records
      WHERE state IN ('pending', 'sent')
        AND next_attempt_at <= ${now}
        AND deadline > ${now + PUSH_SAFETY_MS}
        AND (lease_until IS NULL OR lease_until <= ${now})
      ORDER BY deadline, metering_sn
      LIMIT ${limit})
    RETURNING metering_sn, instance_id, product_id, begin_time, end_time, usage_value, attempts, deadline, created_at`);
  return rows.map((row): ClaimedRecord => ({
    meteringSn: String(row.metering_sn),
    instanceId: String(row.instance_id),
    productId: row.product_id === null ? null : String(row.product_id),
    beginTime: Number(row.begin_time),
    endTime: Number(row.end_time),
    usageValue: String(row.usage_value),
    attempts: Number(row.attempts),
    deadline: Number(row.deadline),
    createdAt: Number(row.created_at),
  }));
}

function toPush(record: ClaimedRecord): UsageRecordToPush {
  return {
    instanceId: record.instanceId,
    // When the record was generated, not when it is sent: a resend must be the same record (design.md trap list).
    recordTime: record.createdAt,
    beginTime: record.beginTime,
    endTime: record.endTime,
    usageValue: record.usageValue,
    meteringSn: record.meteringSn,
    ...(record.productId ? { productId: record.productId } : {}),
  };
}

function waitOutcome(record: ClaimedRecord, state: "sent" | "pending", error: string, now: number, delay = retryDelay(record.attempts)): Outcome {
  // The last retry still lands before the deadline; past it the record expires instead.
  const next = Math.max(now + 1, Math.min(now + delay, record.deadline - PUSH_SAFETY_MS - 1));
  return { sn: record.meteringSn, state, error: error.slice(0, 500), next };
}

/** Pushes one batch; splits it when a final call-level error must belong to one of its records. */
async function pushBatch(deps: PushDeps, config: UsagePushConfig, records: ClaimedRecord[], now: number, run: RunState): Promise<Outcome[]> {
  if (run.calls >= MAX_CALLS_PER_RUN) return records.map((r) => waitOutcome(r, "sent", "call budget of the run used up", now, 1));
  run.calls += 1;
  let result: UsagePushResult;
  try {
    result = await deps.push(config, records.map(toPush), new Date(now));
  } catch (error) {
    // Anything else (a bug, the isolate dying) propagates: the leases run out and the records are resent.
    if (!(error instanceof MarketplaceApiError)) throw error;
    if (error.retryable) {
      // Perhaps applied before the answer was lost: `sent`, so a later 005 is read as accepted.
      return records.map((r) => waitOutcome(r, "sent", error.message, now));
    }
    if (CONFIGURATION_CODES.has(error.code) || error.code.startsWith("APIGW.")) {
      run.configurationErrors += 1;
      return records.map((r) => waitOutcome(r, "pending", error.message, now));
    }
    if (records.length > 1) {
      const half = Math.ceil(records.length / 2);
      const first = await pushBatch(deps, config, records.slice(0, half), now, run);
      const second = await pushBatch(deps, config, records.slice(half), now, run);
      return [...first, ...second];
    }
    const [only] = records;
    return only ? [{ sn: only.meteringSn, state: "rejected", code: error.code, message: error.message.slice(0, 500) }] : [];
  }
  const byId = new Map(records.map((r) => [r.meteringSn, r]));
  const outcomes: Outcome[] = result.accepted.map((sn) => ({ sn, state: "accepted", duplicate: false }));
  for (const rejection of result.rejected) {
    const record = byId.get(rejection.meteringSn);
    if (!record) continue;
    const sentBefore = record.attempts > 1;
    // 005 (same metering_sn) or 010 (same instance + begin + end) for a record we sent before: the Marketplace
    // already holds it, so it is accepted (usage.api.ts, README point 10). For a first send they are real refusals.
    const duplicate = rejection.code === RECORD_CODES.duplicateMeteringSn || rejection.code === RECORD_CODES.duplicateRecord;
    if (duplicate && sentBefore) outcomes.push({ sn: record.meteringSn, state: "accepted", duplicate: true });
    else outcomes.push({ sn: record.meteringSn, state: "rejected", code: rejection.code, message: rejection.message.slice(0, 500) });
  }
  const answered = new Set(outcomes.map((o) => o.sn));
  for (const record of records) {
    if (!answered.has(record.meteringSn)) outcomes.push(waitOutcome(record, "sent", "not named in the answer", now));
  }
  return outcomes;
}

/** One statement for all outcomes of a batch, only where this run still holds the lease. */
async function recordOutcomes(db: Db, runId: string, outcomes: readonly Outcome[], now: number): Promise<number> {
  if (outcomes.length === 0) return 0;
  const rows = JSON.stringify(
    outcomes.map((o) => ({
      sn: o.sn,
      state: o.state,
      code: o.state === "rejected" ? o.code : null,
      message: o.state === "rejected" ? o.message : null,
      error: o.state === "sent" || o.state === "pending" ? o.error : null,
      next: o.state === "sent" || o.state === "pending" ? o.next : null,
      resolved: o.state === "accepted" || o.state === "rejected" ? now : null,
    })),
  );
  const updated = await db.all<{ metering_sn: string }>(sql`
    UPDATE usage_records SET
      state = json_extract(j.value, '$.state'),
      reject_code = json_extract(j.value, '$.code'),
      reject_message = json_extract(j.value, '$.message'),
      last_error = json_extract(j.value, '$.error'),
      next_attempt_at = COALESCE(json_extract(j.value, '$.next'), usage_records.next_attempt_at),
      resolved_at = json_extract(j.value, '$.resolved'),
      lease_owner = NULL, lease_until = NULL, updated_at = ${now}
    FROM json_each(${rows}) AS j
    WHERE usage_records.metering_sn = json_extract(j.value, '$.sn') AND usage_records.lease_owner = ${runId}
    RETURNING usage_records.metering_sn`);
  return updated.length;
}

/** Unconfirmed records past 75% of their push window: the operator still has time to act. */
async function atRisk(db: Db, now: number): Promise<{ count: number; sample: string[] }> {
  const rows = await db.all<{ metering_sn: string }>(sql`
    SELECT metering_sn FROM usage_records
    WHERE state IN ('pending', 'sent') AND deadline > ${now} AND warn_at <= ${now}
    ORDER BY deadline LIMIT 1000`);
  return { count: rows.length, sample: rows.slice(0, 10).map((r) => r.metering_sn) };
}

export function makePushJob(deps: PushDeps = { push: pushUsage }): Job {
  return async (env: Env, now: number): Promise<JobCounts> => {
    const db = getDb(env);
    const config = usagePushConfigOf(getSettings(env));
    const runId = `push:${crypto.randomUUID()}`;
    const run: RunState = { calls: 0, configurationErrors: 0 };
    const counts = { expired: await expireOverdue(db, now), claimed: 0, calls: 0, accepted: 0, confirmedByDuplicate: 0, rejected: 0, waiting: 0, leaseLost: 0, atRisk: 0 };
    while (run.calls < MAX_CALLS_PER_RUN) {
      const batch = await claimBatch(db, runId, now, MAX_RECORDS_PER_PUSH);
      if (batch.length === 0) break;
      counts.claimed += batch.length;
      const outcomes = await pushBatch(deps, config, batch, now, run);
      const written = await recordOutcomes(db, runId, outcomes, now);
      counts.leaseLost += outcomes.length - written;
      for (const outcome of outcomes) {
        if (outcome.state === "accepted") {
          counts.accepted += 1;
          if (outcome.duplicate) counts.confirmedByDuplicate += 1;
        } else if (outcome.state === "rejected") {
          counts.rejected += 1;
        } else {
          counts.waiting += 1;
        }
      }
      // A batch that did not go through will not go through again in this run: stop rather than spin.
      if (outcomes.every((o) => o.state === "sent" || o.state === "pending")) break;
    }
    counts.calls = run.calls;
    const risk = await atRisk(db, now);
    counts.atRisk = risk.count;
    if (risk.count > 0) log("warn", "usage.deadline_at_risk", { records: risk.count, sample: risk.sample });
    if (run.configurationErrors > 0) log("error", "usage.push_misconfigured", { calls: run.configurationErrors });
    if (counts.leaseLost > 0) log("warn", "usage.push_lease_lost", { records: counts.leaseLost });
    return counts;
  };
}

export const pushJob: Job = makePushJob();
