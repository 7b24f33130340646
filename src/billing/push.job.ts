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
  meaningOfDuplicate,
  pushUsage,
  usagePushConfigOf,
} from "../marketplace-api/usage.api";
import { log } from "../observability/log";
import { d1Statement } from "./d1-sql";
import { PUSH_SAFETY_MS } from "./periods";
import { type NotAcceptedEnding, endNotAccepted } from "./record-endings";
import { type UsagePushFacts, emptyUsagePushFacts, noteRejected, noteUsagePush } from "../operations/usage-problems";

/**
 * Sends due usage records (issue 5, the design "usage is a ledger"). Every 5 minutes:
 *   1. records that can no longer be sent in time become `expired`; those that may have reached the Marketplace are
 *      checked once after the deadline (step 4);
 *   2. due records are claimed in batches of up to 1000 with one UPDATE … RETURNING that sets a lease, so two
 *      overlapping runs never hold the same record; the claim also counts the attempt and marks the record `sent`
 *      before the call, so a run that dies after sending leaves a record that is resent, with the same metering_sn,
 *      once the lease runs out (the Marketplace then answers 005, which for a record delivered before means accepted,
 *      meaningOfDuplicate in usage.api.ts);
 *   3. the Marketplace's answer moves each record to accepted / rejected (its record code kept) or back to waiting
 *      with backoff, never past its deadline. Every write is guarded by the lease, so a run that lost its lease
 *      changes nothing. A record that ends not accepted goes through endNotAccepted (record-endings.ts);
 *   4. expired records that may be held by the Marketplace are pushed once more: 005 says it held them (accepted).
 */

/** Longer than a run's slowest batch (a split batch makes up to MAX_CALLS_PER_RUN calls of ≤ 8 s); equals the cron interval. */
export const LEASE_MS = 5 * 60_000;
/** Waits after the 1st, 2nd, 3rd, … failed attempt; the cron's 5-minute grain rounds them up. */
export const RETRY_BACKOFF_MS = [5 * 60_000, 10 * 60_000, 20 * 60_000, 30 * 60_000] as const;
/**
 * Bounds one run's calls (and so its duration); what is left waits for the next run. 100 calls of 1000 (the
 * Marketplace's per-call maximum, open-apis §2.3; it publishes no rate limit, only CBC.0250) clear a backlog of
 * 100,000 records in one run: the whole of one hour for 100,000 pay-per-use instances (docs/scaling.md), with about
 * 3 D1 queries per call, well under the 1,000 per invocation (cloudflare-platform §3.1).
 */
export const MAX_CALLS_PER_RUN = 100;

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

/**
 * What one call said about one record, before the duplicate rule is applied. `delivered`: the Marketplace may hold
 * the record after this call (it answered about the record, or the call failed without an answer and may have
 * arrived); false when the record was never sent (refused locally, call budget used up) or the whole call was
 * refused, which stores nothing.
 */
type CallResult =
  | { sn: string; kind: "taken" }
  | { sn: string; kind: "refused"; code: string; message: string; delivered: boolean }
  | { sn: string; kind: "wait"; error: string; next: number; delivered: boolean; configuration: boolean };

/** The outcome after the duplicate rule (meaningOfDuplicate). */
type Outcome =
  | { sn: string; kind: "taken" }
  | { sn: string; kind: "duplicate-accepted"; code: string }
  | { sn: string; kind: "refused"; code: string; message: string; delivered: boolean; conflict: boolean }
  | { sn: string; kind: "wait"; error: string; next: number; delivered: boolean; configuration: boolean };

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
  /** Earlier calls that reached the Marketplace, not counting the one being made now. */
  deliveries: number;
  deadline: number;
  createdAt: number;
}

interface RunState {
  calls: number;
  /** What the run saw, for the problems list (src/operations/usage-problems.ts). */
  facts: UsagePushFacts;
  configurationErrors: number;
  /** A SELLER_WEBHOOK_URL is set: usage.rejected events are written to be delivered. */
  webhook: boolean;
}

const CLAIMED_COLUMNS = sql`metering_sn, instance_id, product_id, begin_time, end_time, usage_value, attempts, deliveries, deadline, created_at`;

function claimedRecord(row: Record<string, unknown>): ClaimedRecord {
  return {
    meteringSn: String(row.metering_sn),
    instanceId: String(row.instance_id),
    productId: row.product_id === null ? null : String(row.product_id),
    beginTime: Number(row.begin_time),
    endTime: Number(row.end_time),
    usageValue: String(row.usage_value),
    attempts: Number(row.attempts),
    deliveries: Number(row.deliveries),
    deadline: Number(row.deadline),
    createdAt: Number(row.created_at),
  };
}

/** Unconfirmed records whose deadline (less the safety margin) has come: they end `expired`, never sent again. */
async function expireOverdue(db: Db, now: number, webhook: boolean, facts: UsagePushFacts): Promise<number> {
  let expired = 0;
  for (;;) {
    // A lease still set on an unleased row means its run died with the call in flight: that call may have arrived.
    const rows = await db.all<{ metering_sn: string; attempts: number; deliveries: number; in_doubt: number }>(sql`
      SELECT metering_sn, attempts, deliveries, (lease_owner IS NOT NULL) AS in_doubt FROM usage_records
      WHERE state IN ('pending', 'sent')
        AND deadline <= ${now + PUSH_SAFETY_MS}
        AND (lease_until IS NULL OR lease_until <= ${now})
      ORDER BY deadline LIMIT ${MAX_RECORDS_PER_PUSH}`);
    if (rows.length === 0) return expired;
    const endings = rows.map((row): NotAcceptedEnding => {
      const deliveries = row.deliveries + row.in_doubt;
      return {
        sn: row.metering_sn,
        state: "expired",
        code: null,
        message:
          deliveries > 0
            ? `sent ${row.attempts} time(s), never confirmed before the deadline`
            : row.attempts > 0
              ? `claimed ${row.attempts} time(s), never reached the Marketplace before the deadline`
              : "never sent before the deadline",
        // Perhaps held by the Marketplace: one more push after the deadline tells (checkExpired).
        expiryCheck: deliveries > 0 ? "due" : null,
        deliveriesAdded: row.in_doubt,
      };
    });
    const [result] = await db.$client.batch(endNotAccepted(db.$client, endings, { unleasedUnconfirmedAt: now }, now, webhook));
    const ended = (result?.results ?? []) as Array<{ metering_sn: string }>;
    expired += ended.length;
    facts.expired.count += ended.length;
    for (const row of ended.slice(0, Math.max(0, 5 - facts.expired.sample.length))) facts.expired.sample.push(row.metering_sn);
    if (rows.length < MAX_RECORDS_PER_PUSH) return expired;
  }
}

/**
 * Atomic claim: the inner SELECT and the UPDATE are one statement, so a record leased here is invisible to other
 * runs. The inner SELECT walks usage_records_claim_idx in (deadline, metering_sn) order and stops at its LIMIT, so
 * its cost per record does not grow with the backlog (test/billing/push.test.ts checks the plan). INDEXED BY,
 * because without table statistics SQLite picks the index on next_attempt_at and sorts the whole due backlog in a
 * temporary b-tree (21 → 51 rows read per record from 10k to 40k due records); a missing index then fails loudly.
 */
export const CLAIM_ORDER_INDEX = "usage_records_claim_idx";

async function claimBatch(db: Db, runId: string, now: number, limit: number): Promise<ClaimedRecord[]> {
  const rows = await db.all<Record<string, unknown>>(claimQuery(runId, now, limit));
  return rows.map(claimedRecord);
}

export function claimQuery(runId: string, now: number, limit: number) {
  // deliveries: a lease that ran out unreleased belonged to a run that died with the call in flight (in doubt).
  return sql`
    UPDATE usage_records SET
      state = 'sent', attempts = attempts + 1, deliveries = deliveries + (lease_owner IS NOT NULL),
      lease_owner = ${runId}, lease_until = ${now + LEASE_MS},
      first_sent_at = COALESCE(first_sent_at, ${now}), last_sent_at = ${now}, updated_at = ${now}
    WHERE metering_sn IN (
      SELECT metering_sn FROM usage_records INDEXED BY ${sql.raw(CLAIM_ORDER_INDEX)}
      WHERE state IN ('pending', 'sent')
        AND deadline > ${now + PUSH_SAFETY_MS}
        AND next_attempt_at <= ${now}
        AND (lease_until IS NULL OR lease_until <= ${now})
      ORDER BY deadline, metering_sn
      LIMIT ${limit})
    RETURNING ${CLAIMED_COLUMNS}`;
}

function toPush(record: ClaimedRecord): UsageRecordToPush {
  return {
    instanceId: record.instanceId,
    // When the record was generated, not when it is sent: a resend must be the same record, or the Marketplace bills it twice.
    recordTime: record.createdAt,
    beginTime: record.beginTime,
    endTime: record.endTime,
    usageValue: record.usageValue,
    meteringSn: record.meteringSn,
    ...(record.productId ? { productId: record.productId } : {}),
  };
}

function waitResult(
  record: ClaimedRecord,
  error: string,
  now: number,
  options: { delivered: boolean; configuration?: boolean; delay?: number },
): CallResult {
  const delay = options.delay ?? retryDelay(record.attempts);
  // The last retry still lands before the deadline; past it the record expires instead.
  const next = Math.max(now + 1, Math.min(now + delay, record.deadline - PUSH_SAFETY_MS - 1));
  return { sn: record.meteringSn, kind: "wait", error: error.slice(0, 500), next, delivered: options.delivered, configuration: options.configuration ?? false };
}

/** Pushes one batch; splits it when a final call-level error must belong to one of its records. */
async function pushBatch(deps: PushDeps, config: UsagePushConfig, records: ClaimedRecord[], now: number, run: RunState): Promise<CallResult[]> {
  if (run.calls >= MAX_CALLS_PER_RUN) return records.map((r) => waitResult(r, "call budget of the run used up", now, { delivered: false, delay: 1 }));
  run.calls += 1;
  let result: UsagePushResult;
  try {
    result = await deps.push(config, records.map(toPush), new Date(now));
  } catch (error) {
    // Anything else (a bug, the isolate dying) propagates: the leases run out and the records are resent.
    if (!(error instanceof MarketplaceApiError)) throw error;
    if (error.retryable || CONFIGURATION_CODES.has(error.code) || error.code.startsWith("APIGW.")) run.facts.callFailure = error.message;
    if (error.retryable) {
      // Perhaps applied before the answer was lost: delivered, so a later 005 is read as accepted.
      return records.map((r) => waitResult(r, error.message, now, { delivered: true }));
    }
    if (CONFIGURATION_CODES.has(error.code) || error.code.startsWith("APIGW.")) {
      run.configurationErrors += 1;
      return records.map((r) => waitResult(r, error.message, now, { delivered: false, configuration: true }));
    }
    if (records.length > 1) {
      const half = Math.ceil(records.length / 2);
      const first = await pushBatch(deps, config, records.slice(0, half), now, run);
      const second = await pushBatch(deps, config, records.slice(half), now, run);
      return [...first, ...second];
    }
    const [only] = records;
    return only ? [{ sn: only.meteringSn, kind: "refused", code: error.code, message: error.message.slice(0, 500), delivered: false }] : [];
  }
  run.facts.callAnswered = true;
  const byId = new Map(records.map((r) => [r.meteringSn, r]));
  const results: CallResult[] = result.accepted.filter((sn) => byId.has(sn)).map((sn) => ({ sn, kind: "taken" }));
  for (const rejection of result.rejected) {
    if (!byId.has(rejection.meteringSn)) continue;
    results.push({ sn: rejection.meteringSn, kind: "refused", code: rejection.code, message: rejection.message.slice(0, 500), delivered: rejection.refusedLocally !== true });
  }
  const answered = new Set(results.map((o) => o.sn));
  for (const record of records) {
    if (!answered.has(record.meteringSn)) results.push(waitResult(record, "not named in the answer", now, { delivered: true }));
  }
  return results;
}

/** For 010 answers: our record of the same instance, begin and end that reached the Marketplace first. */
async function samePeriodDelivered(db: Db, records: readonly ClaimedRecord[]): Promise<Map<string, string>> {
  const first = new Map<string, string>();
  if (records.length === 0) return first;
  const keyOf = (r: { instanceId: string; beginTime: number; endTime: number }) => `${r.instanceId}|${r.beginTime}|${r.endTime}`;
  const periods = JSON.stringify(records.map((r) => ({ i: r.instanceId, b: r.beginTime, e: r.endTime })));
  const rows = await db.all<{ metering_sn: string; instance_id: string; begin_time: number; end_time: number }>(sql`
    SELECT r.metering_sn, r.instance_id, r.begin_time, r.end_time
    FROM json_each(${periods}) AS j
    JOIN usage_records r ON r.instance_id = json_extract(j.value, '$.i')
      AND r.begin_time = json_extract(j.value, '$.b') AND r.end_time = json_extract(j.value, '$.e')
    WHERE r.deliveries > 0
    ORDER BY r.first_sent_at, r.metering_sn`);
  for (const row of rows) {
    const key = keyOf({ instanceId: row.instance_id, beginTime: row.begin_time, endTime: row.end_time });
    if (!first.has(key)) first.set(key, row.metering_sn);
  }
  const bySn = new Map<string, string>();
  for (const record of records) {
    const sn = first.get(keyOf(record));
    if (sn) bySn.set(record.meteringSn, sn);
  }
  return bySn;
}

/** Applies the one duplicate rule (meaningOfDuplicate) to a call's results, with what the ledger knows. */
async function judge(db: Db, records: readonly ClaimedRecord[], results: readonly CallResult[]): Promise<Outcome[]> {
  const byId = new Map(records.map((r) => [r.meteringSn, r]));
  const duplicatePeriod = results.filter((r) => r.kind === "refused" && r.code === RECORD_CODES.duplicateRecord).map((r) => byId.get(r.sn));
  const samePeriod = await samePeriodDelivered(db, duplicatePeriod.filter((r): r is ClaimedRecord => r !== undefined));
  return results.map((result): Outcome => {
    if (result.kind !== "refused") return result;
    const record = byId.get(result.sn);
    const meaning = meaningOfDuplicate(
      { meteringSn: result.sn, code: result.code },
      { snDelivered: (record?.deliveries ?? 0) > 0, samePeriodSn: samePeriod.get(result.sn) ?? null },
    );
    if (meaning === "accepted") return { sn: result.sn, kind: "duplicate-accepted", code: result.code };
    return { ...result, conflict: meaning === "conflict" };
  });
}

/**
 * One D1 batch for all outcomes of a call, only where this run still holds the lease: accepted and waiting records
 * in one statement, records that end not accepted through endNotAccepted. `mode` says whether these are first
 * pushes within the deadline or the one check after it (checkExpired).
 */
async function recordOutcomes(db: Db, runId: string, outcomes: readonly Outcome[], mode: "push" | "expiry-check", now: number, webhook: boolean): Promise<number> {
  if (outcomes.length === 0) return 0;
  const kept: Array<Record<string, string | number | null>> = [];
  const endings: NotAcceptedEnding[] = [];
  for (const o of outcomes) {
    if (o.kind === "taken" || o.kind === "duplicate-accepted") {
      const held = o.kind === "duplicate-accepted";
      kept.push({
        sn: o.sn,
        state: "accepted",
        add: held ? 0 : 1,
        expiryCheck: mode === "expiry-check" ? (held ? "held" : "taken-late") : null,
        message: mode === "expiry-check" ? (held ? `held by the Marketplace: confirmed by ${o.code} after the deadline` : "taken by the Marketplace only after the deadline") : null,
        error: null,
        next: null,
        resolved: now,
      });
    } else if (o.kind === "refused") {
      const message = o.conflict ? `conflict: ${o.code} for a record the Marketplace cannot hold from us (${o.message})`.slice(0, 500) : o.message;
      endings.push(
        mode === "push"
          ? { sn: o.sn, state: "rejected", code: o.code, message, expiryCheck: null, deliveriesAdded: o.delivered ? 1 : 0 }
          : { sn: o.sn, state: "expired", code: o.code, message: `not held by the Marketplace at the deadline: ${message}`.slice(0, 500), expiryCheck: "not-held", deliveriesAdded: 0 },
      );
    } else {
      // After the deadline a record is never pushed again except for its one check: it stays expired and due.
      kept.push({ sn: o.sn, state: mode === "push" ? null : "expired", add: mode === "push" && o.delivered ? 1 : 0, expiryCheck: null, message: null, error: o.error, next: mode === "push" ? o.next : null, resolved: null });
    }
  }
  const rows = JSON.stringify(kept);
  const statements = [
    d1Statement(
      db.$client,
      sql`
        UPDATE usage_records SET
          state = COALESCE(json_extract(j.value, '$.state'),
            CASE WHEN usage_records.deliveries + json_extract(j.value, '$.add') > 0 THEN 'sent' ELSE 'pending' END),
          deliveries = usage_records.deliveries + json_extract(j.value, '$.add'),
          expiry_check = COALESCE(json_extract(j.value, '$.expiryCheck'), usage_records.expiry_check),
          reject_code = CASE WHEN json_extract(j.value, '$.resolved') IS NULL THEN usage_records.reject_code END,
          reject_message = CASE WHEN json_extract(j.value, '$.resolved') IS NULL THEN usage_records.reject_message
            ELSE json_extract(j.value, '$.message') END,
          last_error = json_extract(j.value, '$.error'),
          next_attempt_at = COALESCE(json_extract(j.value, '$.next'), usage_records.next_attempt_at),
          resolved_at = COALESCE(json_extract(j.value, '$.resolved'), usage_records.resolved_at),
          lease_owner = NULL, lease_until = NULL, updated_at = ${now}
        FROM json_each(${rows}) AS j
        WHERE usage_records.metering_sn = json_extract(j.value, '$.sn') AND usage_records.lease_owner = ${runId}
        RETURNING usage_records.metering_sn`,
    ),
    ...(endings.length > 0 ? endNotAccepted(db.$client, endings, { leaseOwner: runId }, now, webhook) : []),
  ];
  const results = await db.$client.batch(statements);
  return results.reduce((n, r) => n + r.results.length, 0);
}

/** How long after the deadline an expired record's one check may still wait for an answer. */
export const EXPIRY_CHECK_WINDOW_MS = 24 * 3_600_000;

/**
 * Records that expired while sent but unconfirmed (issue 9 item 10): one more push of the same metering_sn tells
 * whether the Marketplace held it (005: accepted after all) or not (any other answer: it stays expired, `not-held`,
 * with the answer's code). A call that gets no answer is asked again next run, for at most EXPIRY_CHECK_WINDOW_MS.
 */
interface PushCounts extends JobCounts {
  expired: number;
  claimed: number;
  calls: number;
  accepted: number;
  confirmedByDuplicate: number;
  rejected: number;
  /** Rejected because a duplicate answer cannot be ours (meaningOfDuplicate): reported. */
  conflicts: number;
  waiting: number;
  leaseLost: number;
  atRisk: number;
  /** Post-deadline checks of expired records: held (accepted after all), taken only now, not held. */
  expiredHeld: number;
  expiredTakenLate: number;
  expiredNotHeld: number;
}

async function checkExpired(db: Db, deps: PushDeps, config: UsagePushConfig, runId: string, now: number, run: RunState, counts: PushCounts): Promise<void> {
  while (run.calls < MAX_CALLS_PER_RUN) {
    const rows = await db.all<Record<string, unknown>>(sql`
      UPDATE usage_records SET lease_owner = ${runId}, lease_until = ${now + LEASE_MS}, updated_at = ${now}
      WHERE metering_sn IN (
        SELECT metering_sn FROM usage_records
        WHERE expiry_check = 'due' AND (lease_until IS NULL OR lease_until <= ${now})
        ORDER BY deadline LIMIT ${MAX_RECORDS_PER_PUSH})
      RETURNING ${CLAIMED_COLUMNS}`);
    if (rows.length === 0) return;
    const batch = rows.map(claimedRecord);
    const byId = new Map(batch.map((r) => [r.meteringSn, r]));
    const outcomes = (await judge(db, batch, await pushBatch(deps, config, batch, now, run))).map((o): Outcome => {
      const record = byId.get(o.sn);
      // No answer within the window: the Marketplace never said it held it.
      if (o.kind === "wait" && record && now >= record.deadline + EXPIRY_CHECK_WINDOW_MS) {
        return { sn: o.sn, kind: "refused", code: "NO_ANSWER", message: `no answer to the check after the deadline: ${o.error}`, delivered: false, conflict: false };
      }
      return o;
    });
    await recordOutcomes(db, runId, outcomes, "expiry-check", now, run.webhook);
    for (const o of outcomes) {
      if (o.kind === "duplicate-accepted") counts.expiredHeld += 1;
      else if (o.kind === "taken") counts.expiredTakenLate += 1;
      else if (o.kind === "refused") counts.expiredNotHeld += 1;
    }
    if (outcomes.every((o) => o.kind === "wait")) return;
  }
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
    const settings = getSettings(env);
    const config = usagePushConfigOf(settings);
    const runId = `push:${crypto.randomUUID()}`;
    const run: RunState = { calls: 0, configurationErrors: 0, webhook: settings.sellerWebhook !== undefined, facts: emptyUsagePushFacts() };
    const counts: PushCounts = {
      expired: await expireOverdue(db, now, run.webhook, run.facts),
      claimed: 0,
      calls: 0,
      accepted: 0,
      confirmedByDuplicate: 0,
      rejected: 0,
      conflicts: 0,
      waiting: 0,
      leaseLost: 0,
      atRisk: 0,
      expiredHeld: 0,
      expiredTakenLate: 0,
      expiredNotHeld: 0,
    };
    const conflicts: string[] = [];
    while (run.calls < MAX_CALLS_PER_RUN) {
      const batch = await claimBatch(db, runId, now, MAX_RECORDS_PER_PUSH);
      if (batch.length === 0) break;
      counts.claimed += batch.length;
      const outcomes = await judge(db, batch, await pushBatch(deps, config, batch, now, run));
      const written = await recordOutcomes(db, runId, outcomes, "push", now, run.webhook);
      counts.leaseLost += outcomes.length - written;
      for (const outcome of outcomes) {
        if (outcome.kind === "taken" || outcome.kind === "duplicate-accepted") {
          counts.accepted += 1;
          if (outcome.kind === "duplicate-accepted") counts.confirmedByDuplicate += 1;
        } else if (outcome.kind === "refused") {
          counts.rejected += 1;
          noteRejected(run.facts, outcome.code, outcome.message, outcome.sn);
          if (outcome.conflict) {
            counts.conflicts += 1;
            conflicts.push(outcome.sn);
          }
        } else {
          counts.waiting += 1;
        }
      }
      // A batch that did not go through will not go through again in this run: stop rather than spin.
      if (outcomes.every((o) => o.kind === "wait")) break;
    }
    await checkExpired(db, deps, config, runId, now, run, counts);
    counts.calls = run.calls;
    const risk = await atRisk(db, now);
    counts.atRisk = risk.count;
    if (risk.count > 0) log("warn", "usage.deadline_at_risk", { records: risk.count, sample: risk.sample });
    if (run.configurationErrors > 0) log("error", "usage.push_misconfigured", { calls: run.configurationErrors });
    if (counts.leaseLost > 0) log("warn", "usage.push_lease_lost", { records: counts.leaseLost });
    if (conflicts.length > 0) log("warn", "usage.push_duplicate_conflict", { records: conflicts.length, sample: conflicts.slice(0, 10) });
    if (counts.expiredNotHeld > 0) log("warn", "usage.expired_not_held", { records: counts.expiredNotHeld });
    await noteUsagePush(env, db, run.facts, now);
    return counts;
  };
}

export const pushJob: Job = makePushJob();
