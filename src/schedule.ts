import { pushJob } from "./billing/push.job";
import { reconcileJob } from "./billing/reconcile.job";
import { rollupJob } from "./billing/rollup.job";
import { getDb } from "./db/client";
import { deliverySweepJob } from "./jobs/delivery-sweep.job";
import { cleanupJob } from "./jobs/cleanup.job";
import { licenseUsageReportJob } from "./jobs/license-usage-report.job";
import { type Job, runJob } from "./jobs/job-runner";
import { selfCheckJob } from "./operations/self-check/self-check.job";
import { watchAfterCron } from "./operations/watch";

/**
 * Cron expression (wrangler.toml [triggers]) → the jobs it runs, in order. Billing jobs join this table; each
 * entry also says how often /healthz expects to see the job run.
 */
export const SCHEDULE: Record<string, ReadonlyArray<{ name: string; job: Job; everyMs: number }>> = {
  "*/5 * * * *": [
    { name: "usageRollup", job: rollupJob, everyMs: 5 * 60_000 },
    { name: "usagePush", job: pushJob, everyMs: 5 * 60_000 },
    // After the push: the usage.rejected events it wrote go out now rather than one run later.
    { name: "webhookSweep", job: deliverySweepJob, everyMs: 5 * 60_000 },
    { name: "licenseUsageReport", job: licenseUsageReportJob, everyMs: 5 * 60_000 },
  ],
  "7 * * * *": [
    { name: "usageReconcile", job: reconcileJob, everyMs: 3600_000 },
    // The checks that leave no trace (settings, the Marketplace's keys, the seller's webhook, jobs, PUBLIC_URL).
    { name: "selfCheck", job: selfCheckJob("hourly", () => scheduledJobs()), everyMs: 3600_000 },
  ],
  "30 3 * * *": [
    { name: "cleanup", job: cleanupJob, everyMs: 24 * 3600_000 },
    // Every check, the debugger's cases through the gateway's own router included; after the clean-up of old ones.
    { name: "selfCheckDaily", job: selfCheckJob("full", () => scheduledJobs()), everyMs: 24 * 3600_000 },
  ],
};

export async function runScheduled(env: Env, cron: string, now: number): Promise<void> {
  const jobs = SCHEDULE[cron];
  if (!jobs) throw new Error(`no jobs for cron "${cron}"; wrangler.toml and src/schedule.ts disagree`);
  const db = getDb(env);
  const failures: unknown[] = [];
  for (const entry of jobs) {
    // One failing job must not starve the next one of its run.
    await runJob(db, entry.name, now, () => entry.job(env, now)).catch((error: unknown) => failures.push(error));
  }
  // settings.invalid and job.stale (cleared now that these jobs ran); never fails the cron run.
  await watchAfterCron(env, now);
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} job(s) failed for cron "${cron}"`);
}

/** Every scheduled job with the interval health checks expect it at. */
export function scheduledJobs(): ReadonlyArray<{ name: string; everyMs: number }> {
  return Object.values(SCHEDULE).flat();
}
