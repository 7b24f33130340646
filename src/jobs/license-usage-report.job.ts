import { getDb } from "../db/client";
import { getSettings } from "../env";
import { claimBatch, markRejected, markRetry, markSent } from "../license-codes/usage-queue";
import { MarketplaceApiError } from "../marketplace-api/errors";
import { MAX_SOFTWARE_USAGE_ENTRIES, reportSoftwareUsage } from "../marketplace-api/license.api";
import { log } from "../observability/log";
import type { JobCounts } from "./job-runner";

/** A claimed batch whose run died is sent again after this; longer than one call can take. */
export const USAGE_LEASE_MS = 2 * 60_000;
const MAX_BATCHES_PER_RUN = 20;
const FIRST_RETRY_MS = 5 * 60_000;
const MAX_RETRY_MS = 6 * 3600_000;

export function usageRetryDelayMs(attempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1), MAX_RETRY_MS);
}

/**
 * Software-usage statistics (§2.4 L3) queued by the edge license service, sent in batches of at most 100 licenses.
 * A batch the Marketplace accepted is never sent again; one it could not take (network, 5xx) is retried with backoff;
 * one it refused as invalid (92020002, 92020005) would be refused again, so it is kept as rejected for the operator.
 */
export async function licenseUsageReportJob(env: Env, now: number): Promise<JobCounts> {
  const db = getDb(env);
  const settings = getSettings(env);
  const counts = { batches: 0, sent: 0, retrying: 0, rejected: 0 };
  for (let i = 0; i < MAX_BATCHES_PER_RUN; i++) {
    const batchId = crypto.randomUUID();
    const rows = await claimBatch(db, batchId, MAX_SOFTWARE_USAGE_ENTRIES, USAGE_LEASE_MS, now);
    if (rows.length === 0) break;
    counts.batches += 1;
    const usages = rows.map((row) => ({
      license: row.code,
      entries: row.entries.map((entry) => ("id" in entry ? { id: entry.id } : { activeNum: entry.active_num })),
    }));
    try {
      await reportSoftwareUsage(settings.marketplace, usages, new Date(now));
      await markSent(db, batchId, now);
      counts.sent += rows.length;
    } catch (error) {
      const retryable = !(error instanceof MarketplaceApiError) || error.retryable;
      const message = error instanceof Error ? error.message : String(error);
      log(retryable ? "warn" : "error", "license_usage.batch_failed", { batchId, rows: rows.length, retryable, error: message.slice(0, 200) });
      if (retryable) {
        // Rows of one batch were claimed together and carry one attempt count.
        await markRetry(db, batchId, now + usageRetryDelayMs(rows[0]?.attempts ?? 1), message, now);
        counts.retrying += rows.length;
        // The Marketplace is not taking batches now: the rest waits for the next run.
        break;
      }
      await markRejected(db, batchId, message, now);
      counts.rejected += rows.length;
    }
  }
  return counts;
}
