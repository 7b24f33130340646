import { getDb } from "../db/client";
import { settingsProblem } from "../env";
import { scheduledJobs } from "../schedule";
import { jobHealth } from "../jobs/job-health";
import { GATEWAY_VERSION } from "../version";
import { watchInBackground } from "../operations/watch";

/**
 * GET /healthz is public, so it tells only what a monitor needs: up or degraded (503), the version, and per job
 * "ok" or "late" (each call also arms the operations actor's watch, which notices a stalled cron). Why (which setting, which error) is behind ADMIN_TOKEN at GET /admin/api/health.
 */
export async function health(env: Env, ctx?: ExecutionContext, now = Date.now()): Promise<Response> {
  // After the answer: settings.invalid, and the operations actor's watch over the jobs (armed, checked).
  watchInBackground(env, ctx, now);
  const jobs = await jobHealth(getDb(env), now, scheduledJobs());
  const degraded = settingsProblem(env) !== undefined || jobs.some((job) => job.state === "late");
  return Response.json(
    { status: degraded ? "degraded" : "ok", version: GATEWAY_VERSION, jobs: Object.fromEntries(jobs.map((job) => [job.name, job.state])) },
    { status: degraded ? 503 : 200, headers: { "Cache-Control": "no-store" } },
  );
}
