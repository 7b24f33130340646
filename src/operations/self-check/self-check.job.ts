import type { JobCounts } from "../../jobs/job-runner";
import type { ScheduledJob } from "./checks/jobs.check";
import { runSelfCheck } from "./self-check";
import type { SelfCheckScope } from "./self-check.types";

/**
 * The crons' self-check: hourly the checks that leave no trace, daily all of them. The job succeeds when the run was
 * made, whatever it found (the run and its failures are in GET /admin/api/self-check): a failing seller backend must
 * not make the scheduler look broken in /healthz.
 */
export function selfCheckJob(scope: SelfCheckScope, jobs: () => readonly ScheduledJob[]) {
  return async (env: Env, now: number): Promise<JobCounts> => {
    const run = await runSelfCheck(env, now, { scope, jobs: jobs() });
    return {
      passed: run.checks.filter((check) => check.ok && !check.skipped).length,
      failed: run.checks.filter((check) => !check.ok).length,
      skipped: run.checks.filter((check) => check.skipped).length,
    };
  };
}
