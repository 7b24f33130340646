import { getDb } from "../db/client";
import { settingsProblem, settingsProblems } from "../env";
import { scheduledJobs } from "../schedule";
import { jobHealth, recentFailures } from "../jobs/job-health";
import { ssoHealth } from "../sso/sso-settings";
import { GATEWAY_VERSION } from "../version";
import type { AdminHealth } from "./admin-api.schema";
import { isoOrNull } from "./admin-views";
import { alertConfigOf } from "../operations/alert-settings";
import { watchInBackground } from "../operations/watch";

/**
 * GET /admin/api/health: what /healthz leaves out. Which setting is wrong and the rule it breaks (never its value):
 * the first in `settings`, and per group in `features` (the Marketplace's interfaces, then each optional feature,
 * which a broken setting disables alone); and per job its last run and its latest errors. Always 200 when authorised: the body says whether all is well.
 * Reads the raw bindings, not the parsed settings: it must answer exactly when some setting is broken.
 */
export async function adminHealth(env: Env, now: number, ctx?: ExecutionContext): Promise<AdminHealth> {
  watchInBackground(env, ctx, now);
  const db = getDb(env);
  const features = settingsProblems(env);
  const settings = settingsProblem(env);
  const jobs = await jobHealth(db, now, scheduledJobs());
  const details = await Promise.all(
    jobs.map(async (job) => {
      const run = job.lastRun;
      const failures = await recentFailures(db, job.name);
      return [
        job.name,
        {
          state: job.state,
          everyMinutes: job.everyMs / 60_000,
          lastRun: run
            ? { startedAt: isoOrNull(run.startedAt), finishedAt: isoOrNull(run.finishedAt), status: run.status, counts: run.counts ?? null, error: run.error ?? null }
            : null,
          recentErrors: failures.map((failure) => ({ startedAt: isoOrNull(failure.startedAt), error: failure.error ?? "" })),
        },
      ] as const;
    }),
  );
  const sso = ssoHealth(env);
  const degraded = settings !== undefined || typeof sso === "object" || jobs.some((job) => job.state === "late");
  const alerts = alertConfigOf(env);
  return {
    status: degraded ? "degraded" : "ok",
    version: GATEWAY_VERSION,
    settings: settings ?? "ok",
    features,
    sso,
    alerts: alerts.state === "invalid" ? { setting: alerts.setting, problem: alerts.problem } : alerts.state,
    jobs: Object.fromEntries(details),
  };
}
