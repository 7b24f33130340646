import { type Db, getDb } from "../db/client";
import type { LicenseUsageRow } from "../db/schema/license-codes";
import { getSettings } from "../env";
import { claimBatch, markRejected, markRetry, markSent } from "../license-codes/usage-queue";
import { MarketplaceApiError } from "../marketplace-api/errors";
import { MAX_SOFTWARE_USAGE_ENTRIES, type SoftwareUsage, reportSoftwareUsage } from "../marketplace-api/license.api";
import type { OpenApiCredentials } from "../marketplace-api/client";
import { log } from "../observability/log";
import type { JobCounts } from "./job-runner";

/** A claimed batch whose run died is sent again after this: longer than a run's worst case (40 calls of up to 8 s). */
export const USAGE_LEASE_MS = 10 * 60_000;
const MAX_BATCHES_PER_RUN = 20;
/**
 * Bounds one run's calls, and so what one bad code can cost: a batch of 100 rows split down to one bad code takes
 * about 2·log2(100) ≈ 14 calls. What is left waits for the next run.
 */
export const MAX_USAGE_CALLS_PER_RUN = 40;
const FIRST_RETRY_MS = 5 * 60_000;
const MAX_RETRY_MS = 6 * 3600_000;

export function usageRetryDelayMs(attempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1), MAX_RETRY_MS);
}

/** What became of each claimed row. */
type RowOutcome = { kind: "sent" } | { kind: "wait"; error: string; nextAttemptAt: number } | { kind: "rejected"; error: string };

interface RunState {
  calls: number;
  /** The Marketplace is not taking calls now (outage, or the gateway's own credentials refused): no more this run. */
  stopped: boolean;
}

/**
 * Refusals about the gateway itself, not about any row: 92020001 answered with HTTP 403 (unauthorized: AK/SK) and
 * the API gateway's own APIGW.* codes. Rows wait (with backoff) for the operator to fix the settings.
 */
function isConfigurationRefusal(error: MarketplaceApiError): boolean {
  return error.code === "92020001" || error.code.startsWith("APIGW.");
}

const toUsage = (row: LicenseUsageRow): SoftwareUsage => ({
  license: row.code,
  entries: row.entries.map((entry) => ("id" in entry ? { id: entry.id } : { activeNum: entry.active_num })),
});

/**
 * Two halves of a batch the Marketplace refused as a whole: by code while it holds several (a 92020005 is about one
 * code, whose rows then stay together), else by row (a 92020002 may be about one row's entries).
 */
function halves(rows: LicenseUsageRow[]): [LicenseUsageRow[], LicenseUsageRow[]] {
  const codes = [...new Set(rows.map((row) => row.code))];
  if (codes.length > 1) {
    const first = new Set(codes.slice(0, Math.ceil(codes.length / 2)));
    return [rows.filter((row) => first.has(row.code)), rows.filter((row) => !first.has(row.code))];
  }
  const half = Math.ceil(rows.length / 2);
  return [rows.slice(0, half), rows.slice(half)];
}

/**
 * Sends rows in one call; when the Marketplace refuses the call for good because of some row (92020002, 92020005, or
 * input it documents as invalid), splits it until the refused code or row is alone, as the usage push does
 * (src/billing/push.job.ts), so one bad code never takes the other codes' rows with it.
 */
async function sendRows(credentials: OpenApiCredentials, rows: LicenseUsageRow[], now: number, run: RunState): Promise<Map<number, RowOutcome>> {
  const outcomes = new Map<number, RowOutcome>();
  const all = (outcome: RowOutcome) => {
    for (const row of rows) outcomes.set(row.id, outcome);
    return outcomes;
  };
  const retryAt = now + usageRetryDelayMs(rows[0]?.attempts ?? 1);
  if (run.stopped) return all({ kind: "wait", error: "not sent: the Marketplace refused an earlier call of this run", nextAttemptAt: retryAt });
  // Never sent, so no attempt is spent: due again on the next run.
  if (run.calls >= MAX_USAGE_CALLS_PER_RUN) return all({ kind: "wait", error: "not sent: the run's call budget was used up", nextAttemptAt: now });
  run.calls += 1;
  try {
    await reportSoftwareUsage(credentials, rows.map(toUsage), new Date(now));
    return all({ kind: "sent" });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const final = error instanceof RangeError || (error instanceof MarketplaceApiError && !error.retryable && !isConfigurationRefusal(error));
    if (!final) {
      run.stopped = true;
      const configuration = error instanceof MarketplaceApiError && !error.retryable;
      log(configuration ? "error" : "warn", "license_usage.batch_failed", { rows: rows.length, retryable: !configuration, configuration, error: message.slice(0, 200) });
      return all({ kind: "wait", error: message, nextAttemptAt: retryAt });
    }
    if (rows.length === 1) {
      log("error", "license_usage.rejected", { rows: 1, error: message.slice(0, 200) });
      return all({ kind: "rejected", error: message });
    }
    const [first, second] = halves(rows);
    for (const part of [first, second]) for (const [id, outcome] of await sendRows(credentials, part, now, run)) outcomes.set(id, outcome);
    return outcomes;
  }
}

/** One D1 batch for a claimed batch's outcomes, each write guarded by the claim (batch id, state sending). */
async function record(db: Db, batchId: string, outcomes: Map<number, RowOutcome>, now: number): Promise<void> {
  const sent: number[] = [];
  const waiting = new Map<string, { nextAttemptAt: number; error: string; ids: number[] }>();
  const rejected = new Map<string, number[]>();
  for (const [id, outcome] of outcomes) {
    if (outcome.kind === "sent") sent.push(id);
    else if (outcome.kind === "rejected") rejected.set(outcome.error, [...(rejected.get(outcome.error) ?? []), id]);
    else {
      const key = `${outcome.nextAttemptAt}\u0000${outcome.error}`;
      const group = waiting.get(key) ?? { nextAttemptAt: outcome.nextAttemptAt, error: outcome.error, ids: [] };
      group.ids.push(id);
      waiting.set(key, group);
    }
  }
  const statements = [
    ...(sent.length > 0 ? [markSent(db, batchId, sent, now)] : []),
    ...[...waiting.values()].map((group) => markRetry(db, batchId, group.ids, group.nextAttemptAt, group.error, now)),
    ...[...rejected.entries()].map(([error, ids]) => markRejected(db, batchId, ids, error, now)),
  ];
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}

/**
 * Software-usage statistics (§2.4 L3) queued by the edge license service, sent in batches of at most 100 licenses.
 * A row the Marketplace accepted is never sent again; one it could not take (network, 5xx, the gateway's credentials)
 * is retried with backoff; one it refused as invalid (92020002, 92020005) would be refused again, so it is kept as
 * rejected for the operator, alone: the refused batch is split until the bad code's rows are (sendRows).
 */
export async function licenseUsageReportJob(env: Env, now: number): Promise<JobCounts> {
  const db = getDb(env);
  const settings = getSettings(env);
  const counts = { batches: 0, calls: 0, sent: 0, retrying: 0, rejected: 0 };
  const run: RunState = { calls: 0, stopped: false };
  for (let i = 0; i < MAX_BATCHES_PER_RUN && !run.stopped && run.calls < MAX_USAGE_CALLS_PER_RUN; i++) {
    const batchId = crypto.randomUUID();
    const rows = await claimBatch(db, batchId, MAX_SOFTWARE_USAGE_ENTRIES, USAGE_LEASE_MS, now);
    if (rows.length === 0) break;
    counts.batches += 1;
    const outcomes = await sendRows(settings.marketplace, rows, now, run);
    await record(db, batchId, outcomes, now);
    for (const outcome of outcomes.values()) {
      if (outcome.kind === "sent") counts.sent += 1;
      else if (outcome.kind === "rejected") counts.rejected += 1;
      else counts.retrying += 1;
    }
  }
  counts.calls = run.calls;
  return counts;
}
