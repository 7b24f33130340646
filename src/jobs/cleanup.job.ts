import { lt } from "drizzle-orm";
import { getDb } from "../db/client";
import { deleteExpiredNonces } from "../db/nonce.repo";
import { jobRuns } from "../db/schema/jobs";
import { purgeKitTombstones } from "../kit/kit.repo";
import type { JobCounts } from "./job-runner";

/** Job history older than this is of no use to /healthz or the operator. */
export const JOB_RUN_RETENTION_MS = 30 * 24 * 3600_000;

export async function cleanupJob(env: Env, now: number): Promise<JobCounts> {
  const db = getDb(env);
  const [nonces, runs] = await db.batch([deleteExpiredNonces(db, now), db.delete(jobRuns).where(lt(jobRuns.startedAt, now - JOB_RUN_RETENTION_MS))]);
  // Kit tombstones have their own retention (docs/storage.md, kit part).
  const kitTombstonesDeleted = await purgeKitTombstones(db, now);
  return { noncesDeleted: nonces.meta.changes, jobRunsDeleted: runs.meta.changes, kitTombstonesDeleted };
}
