import { getDb } from "../db/client";
import { staleJobs } from "../jobs/job-health";
import { scheduledJobs } from "../schedule";
import { clearProblem, openSubjects, reportProblem } from "./problems";

/** What a job's absence costs, for the problem's summary. */
const COST: Record<string, string> = {
  usageRollup: "usage is not rolled into hourly records",
  usagePush: "usage is not pushed to the Marketplace and records expire at their deadline",
  webhookSweep: "webhook deliveries whose actor lost its alarm are not picked up",
  licenseUsageReport: "software usage of license codes is not reported",
  usageReconcile: "usage gaps are not filled and expired purchases are not frozen",
  cleanup: "old rows are not deleted",
};

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/**
 * job.stale: cron cannot notice its own absence, so the operations actor calls this from its alarm (and on /healthz
 * and after each cron run). Opens a problem per job not started within twice its interval; clears it once the job ran.
 */
export async function watchJobs(env: Env, now: number, watchingSince: number): Promise<{ stale: number; cleared: number }> {
  const db = getDb(env);
  const { stale, fresh } = await staleJobs(db, now, watchingSince, scheduledJobs());
  let cleared = 0;
  for (const job of stale) {
    const last = job.lastStartedAt === undefined ? `never ran since the gateway began watching at ${new Date(job.since).toISOString()}` : `last started ${new Date(job.lastStartedAt).toISOString()}`;
    await reportProblem(
      env,
      {
        kind: "job.stale",
        subject: job.name,
        summary: `Scheduled job ${job.name} has not run for ${minutes(now - job.since)} (expected every ${minutes(job.everyMs)}): ${COST[job.name] ?? "its work is not done"}.`,
        detail: `${job.name} ${last}. Check the Worker's cron triggers (wrangler.toml [triggers]) and GET /admin/api/jobs; POST /admin/api/jobs/${job.name}/run runs it now.`,
      },
      now,
    );
  }
  const open = await openSubjects(db, "job.stale");
  for (const name of fresh) {
    if (open.has(name) && (await clearProblem(env, "job.stale", name, now))) cleared += 1;
  }
  return { stale: stale.length, cleared };
}
