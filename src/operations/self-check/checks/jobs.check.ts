import type { Db } from "../../../db/client";
import { jobHealth } from "../../../jobs/job-health";
import { type CheckOutcome, failed, passed } from "../self-check.types";

const STALL_FACTOR = 2;

export interface ScheduledJob {
  name: string;
  everyMs: number;
}

/**
 * Every scheduled job started within twice its interval. A job that never ran is not yet a failure: a fresh
 * deployment cannot tell "never" from "not due yet", so it fails only once twice its interval has passed since the
 * first self-check (`firstSelfCheckAt`). A last run that failed fails the check, as it makes /healthz `late`.
 */
export async function jobsCheck(db: Db, now: number, jobs: readonly ScheduledJob[], firstSelfCheckAt: number): Promise<CheckOutcome> {
  const health = await jobHealth(db, now, jobs);
  const problems: string[] = [];
  for (const job of health) {
    const limit = STALL_FACTOR * job.everyMs;
    const run = job.lastRun;
    if (!run) {
      if (now - firstSelfCheckAt > limit) problems.push(`${job.name} never ran (expected every ${minutes(job.everyMs)})`);
    } else if (now - run.startedAt > limit) {
      problems.push(`${job.name} last started ${minutes(now - run.startedAt)} ago (expected every ${minutes(job.everyMs)})`);
    } else if (run.status === "failed") {
      problems.push(`${job.name}'s last run failed: ${(run.error ?? "").slice(0, 200)}`);
    }
  }
  if (problems.length === 0) return passed(`all ${health.length} scheduled jobs ran within twice their interval (or are not due yet)`);
  return failed(
    problems.join("; "),
    "A job that stopped means its cron trigger is gone or failing: check [triggers] crons in wrangler.toml were deployed (Workers > Settings > Triggers), GET /admin/api/jobs for the errors, and run one now with POST /admin/api/jobs/{job}/run.",
  );
}

function minutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m >= 120 ? `${Math.round(m / 60)} h` : `${m} min`;
}
