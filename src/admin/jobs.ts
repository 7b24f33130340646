import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { jobRuns } from "../db/schema/jobs";
import { jobHealth } from "../jobs/job-health";
import { runJob } from "../jobs/job-runner";
import { SCHEDULE } from "../schedule";
import type { JobRunAnswer, JobView } from "./admin-api.schema";
import { recordAdminAction } from "./admin-audit";
import { AdminApiError } from "./admin-route";
import { iso, jobRunViewOf } from "./admin-views";

/**
 * Which jobs are correct when run as of a past time, and why the others are not. Checked job by job:
 * - usageRollup: yes. It rolls up the periods closed by `asOf` (their events stay in the backlog until rolled, seq
 *   bounds the run) and writes each record with the deterministic metering_sn of its period, so a backfill after an
 *   outage writes what the missed runs would have, and running it again for the same time finds nothing left to do.
 *   A record whose push window has already closed is written and then expires at the next push (rejected/expired
 *   records can be corrected, docs/billing-rules.md rule 8), rather than being billed as late usage.
 * - usagePush: no. It signs with `now` (the Marketplace checks the time), leases records until `now` + 5 min (a past
 *   lease is no lease), and judges deadlines by `now`: a past time would resend records already worthless.
 * - webhookSweep: no. It only wakes actors, which deliver by their own clock.
 * - licenseUsageReport: no. It sends whatever is queued, with leases and retry times measured from `now`.
 * - usageReconcile: no. Its expiry check freezes instances through their actors with `asOf` as the change's time:
 *   a freeze dated in the past would rewrite which usage was billable after it was billed.
 * - cleanup: no. Retention is measured back from `now`; an earlier time deletes less and backfills nothing.
 * - selfCheck, selfCheckDaily: no. A check proves the deployment as it is now; the Marketplace refuses old signatures.
 */
const BACKFILLABLE = new Set(["usageRollup"]);
/** Clock skew between the operator's browser and the Worker: an asOf this close to now is now. */
const NOW_TOLERANCE_MS = 60_000;

const entries = () => Object.entries(SCHEDULE).flatMap(([cron, jobs]) => jobs.map((job) => ({ cron, ...job })));

export async function listJobs(db: Db, runsPerJob: number, now: number): Promise<JobView[]> {
  const all = entries();
  const health = await jobHealth(db, now, all);
  return Promise.all(
    all.map(async (entry, index) => {
      const runs = await db.select().from(jobRuns).where(eq(jobRuns.job, entry.name)).orderBy(desc(jobRuns.startedAt)).limit(runsPerJob).all();
      const last = health[index]?.lastRun;
      return {
        name: entry.name,
        cron: entry.cron,
        everyMinutes: entry.everyMs / 60_000,
        state: health[index]?.state ?? "ok",
        lateByMs: last ? Math.max(0, now - (last.startedAt + entry.everyMs)) : null,
        runs: runs.map(jobRunViewOf),
      };
    }),
  );
}

/**
 * Runs one scheduled job now, or as of `asOf` for the jobs that allow it. The run is recorded like a cron run
 * (job_runs, started now: health must not read a backfill as the latest run of long ago) and as an operator action.
 * A failing job is a 200 whose run says `failed` with its error, as /admin/api/health would show it.
 */
export async function runJobNow(env: Env, db: Db, name: string, asOf: number | undefined, now: number): Promise<JobRunAnswer> {
  const entry = entries().find((candidate) => candidate.name === name);
  if (!entry) throw new AdminApiError(404, `no job named ${name}; jobs: ${entries().map((e) => e.name).join(", ")}`);
  if (asOf !== undefined && asOf > now) throw new AdminApiError(400, "query parameter asOf: must not be in the future");
  const past = asOf !== undefined && asOf < now - NOW_TOLERANCE_MS;
  if (past && !BACKFILLABLE.has(name)) throw new AdminApiError(400, `query parameter asOf: ${name} runs only as of now (jobs that backfill a past time: ${[...BACKFILLABLE].join(", ")})`);
  const time = past ? asOf : now;
  await runJob(db, name, now, () => entry.job(env, time)).catch(() => undefined);
  const run = await db
    .select()
    .from(jobRuns)
    .where(and(eq(jobRuns.job, name), eq(jobRuns.startedAt, now)))
    .orderBy(desc(jobRuns.id))
    .limit(1)
    .get();
  if (!run) throw new Error(`the run of ${name} started at ${iso(now)} was not recorded`);
  await recordAdminAction(db, { action: "runJob", target: name, at: now, detail: { asOf: iso(time), runId: run.id, status: run.status } });
  return { job: name, asOf: iso(time), run: jobRunViewOf(run) };
}
