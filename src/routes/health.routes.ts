import { getDb } from "../db/client";
import { getSettings } from "../env";
import { toGatewayError } from "../errors";
import { lastRun } from "../jobs/job-runner";
import { SCHEDULE } from "../jobs/schedule";

/** A job counts as stalled when it has not started for twice its interval (plus slack for cron jitter). */
const STALL_FACTOR = 2;

/** Liveness, whether the settings parse (never their values), and the last run of every cron job. */
export async function health(env: Env, now = Date.now()): Promise<Response> {
  let settings = "ok";
  try {
    getSettings(env);
  } catch (error) {
    settings = toGatewayError(error).detail ?? "invalid";
  }
  const db = getDb(env);
  const jobs: Record<string, unknown> = {};
  let stalled = false;
  for (const entry of Object.values(SCHEDULE).flat()) {
    const run = await lastRun(db, entry.name);
    const isStalled = run !== undefined && now - run.startedAt > STALL_FACTOR * entry.everyMs + 60_000;
    stalled ||= isStalled || run?.status === "failed";
    jobs[entry.name] = run
      ? { lastStartedAt: new Date(run.startedAt).toISOString(), status: run.status, stalled: isStalled, ...(run.error ? { error: run.error } : {}) }
      : { lastStartedAt: null, status: "never run" };
  }
  const status = settings !== "ok" ? "degraded" : stalled ? "degraded" : "ok";
  return Response.json({ status, settings, jobs }, { status: 200 });
}
