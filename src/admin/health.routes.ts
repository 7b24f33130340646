import type { IRequest } from "itty-router";
import { getDb } from "../db/client";
import { settingsProblem } from "../env";
import { scheduledJobs } from "../schedule";
import { jobHealth, recentFailures } from "../jobs/job-health";
import { GATEWAY_VERSION } from "../version";
import { requireAdmin } from "./admin-auth";

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/**
 * GET /admin/api/health: what /healthz leaves out. Which setting is wrong and the rule it breaks (never its value),
 * and per job its last run and its latest errors. Always 200 when authorised: the body says whether all is well.
 */
export async function adminHealth(request: IRequest, env: Env, now = Date.now()): Promise<Response> {
  const refused = requireAdmin(request, env);
  if (refused) return refused;
  const db = getDb(env);
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
            ? { startedAt: iso(run.startedAt), finishedAt: iso(run.finishedAt), status: run.status, counts: run.counts ?? null, error: run.error ?? null }
            : null,
          recentErrors: failures.map((failure) => ({ startedAt: iso(failure.startedAt), error: failure.error ?? "" })),
        },
      ] as const;
    }),
  );
  const degraded = settings !== undefined || jobs.some((job) => job.state === "late");
  return Response.json(
    { status: degraded ? "degraded" : "ok", version: GATEWAY_VERSION, settings: settings ?? "ok", jobs: Object.fromEntries(details) },
    { headers: { "Cache-Control": "no-store" } },
  );
}
