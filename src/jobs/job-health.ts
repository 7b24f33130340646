import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { type JobRun, jobRuns } from "../db/schema/jobs";
import { lastRun } from "./job-runner";

/** Cron fires a little late at times; a job counts as late when it has not started for twice its interval plus this. */
const CRON_SLACK_MS = 60_000;
const STALL_FACTOR = 2;

export type JobState = "ok" | "late";

export interface JobHealth {
  name: string;
  everyMs: number;
  /**
   * "late" when its last run failed, or its last start is more than twice its interval ago (a stalled scheduler or a
   * run stuck in "running"). A job that never ran is "ok": a fresh deployment cannot tell missing from not yet due.
   */
  state: JobState;
  lastRun: JobRun | undefined;
}

/** `entries`: every scheduled job with its interval (src/schedule.ts), passed in so jobs/ never imports the schedule. */
export async function jobHealth(db: Db, now: number, entries: ReadonlyArray<{ name: string; everyMs: number }>): Promise<JobHealth[]> {
  return Promise.all(
    entries.map(async ({ name, everyMs }) => {
      const run = await lastRun(db, name);
      const stalled = run !== undefined && now - run.startedAt > STALL_FACTOR * everyMs + CRON_SLACK_MS;
      const state: JobState = stalled || run?.status === "failed" ? "late" : "ok";
      return { name, everyMs, state, lastRun: run };
    }),
  );
}

export interface StaleJob {
  name: string;
  everyMs: number;
  /** Its last start, or undefined when it never ran (then `since` is when watching began). */
  lastStartedAt: number | undefined;
  since: number;
}

/**
 * Jobs that did not start within twice their interval (plus the cron's slack): since their last start, or, for a job
 * that never ran, since `watchingSince` (when the operations actor first looked), so a fresh deployment is not stale.
 * A failed run is not stale: it ran (its error shows in health and the job list).
 */
export async function staleJobs(db: Db, now: number, watchingSince: number, entries: ReadonlyArray<{ name: string; everyMs: number }>): Promise<{ stale: StaleJob[]; fresh: string[] }> {
  const stale: StaleJob[] = [];
  const fresh: string[] = [];
  for (const { name, everyMs } of entries) {
    const run = await lastRun(db, name);
    const since = run?.startedAt ?? watchingSince;
    if (now - since > STALL_FACTOR * everyMs + CRON_SLACK_MS) stale.push({ name, everyMs, lastStartedAt: run?.startedAt, since });
    else fresh.push(name);
  }
  return { stale, fresh };
}

/** The latest failed runs of one job, newest first (served by job_runs_job_started_idx, filtered on status). */
export function recentFailures(db: Db, name: string, limit = 5): Promise<Pick<JobRun, "startedAt" | "error">[]> {
  return db
    .select({ startedAt: jobRuns.startedAt, error: jobRuns.error })
    .from(jobRuns)
    .where(and(eq(jobRuns.job, name), eq(jobRuns.status, "failed")))
    .orderBy(desc(jobRuns.startedAt))
    .limit(limit)
    .all();
}
