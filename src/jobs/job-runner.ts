import { desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { ConfigurationError } from "../protocol/errors";
import { type JobRun, jobRuns } from "../db/schema/jobs";
import { log } from "../observability/log";

export type JobCounts = Record<string, number>;
/** A job is a plain function of (env, now) so tests run it with a fixed clock. */
export type Job = (env: Env, now: number) => Promise<JobCounts>;

/** Records the run before and after, and rethrows so the platform marks the invocation failed too. */
export async function runJob(db: Db, name: string, now: number, job: () => Promise<JobCounts>): Promise<JobCounts> {
  const started = await db.insert(jobRuns).values({ job: name, startedAt: now, status: "running" }).returning({ id: jobRuns.id });
  const id = started[0]?.id;
  try {
    const counts = await job();
    if (id !== undefined) await db.update(jobRuns).set({ finishedAt: Date.now(), status: "ok", counts }).where(eq(jobRuns.id, id));
    log("info", "job.finished", { job: name, runId: id, counts, ms: Date.now() - now });
    return counts;
  } catch (error) {
    // A broken setting says which one (its name and the rule it breaks, never its value), in the log line and in the
    // run the admin health API shows; the generic "gateway is misconfigured" would leave the operator guessing.
    const setting = error instanceof ConfigurationError ? { setting: error.setting, problem: error.problem } : {};
    const message = error instanceof ConfigurationError ? (error.detail ?? error.message) : error instanceof Error ? error.message : String(error);
    if (id !== undefined) await db.update(jobRuns).set({ finishedAt: Date.now(), status: "failed", error: message.slice(0, 1000) }).where(eq(jobRuns.id, id));
    log("error", "job.failed", { job: name, runId: id, error: message, ...setting, ms: Date.now() - now });
    throw error;
  }
}

export function lastRun(db: Db, name: string): Promise<JobRun | undefined> {
  return db.select().from(jobRuns).where(eq(jobRuns.job, name)).orderBy(desc(jobRuns.startedAt)).limit(1).get();
}
