import { getInstanceActor } from "../actor/instance.actor";
import { getDb } from "../db/client";
import type { JobCounts } from "./job-runner";
import { log } from "../observability/log";
import { overdueStreams } from "../events/outbox";
import { overdueUploadInstances } from "../license/license.repo";

/** A delivery this late lost its alarm (or was written by a job, not by its actor): its actor is woken. */
export const OVERDUE_AFTER_MS = 60_000;
export const MAX_STREAMS_PER_RUN = 200;

/**
 * The safety net under webhook delivery: every stream whose first pending event is overdue gets its actor's alarm
 * armed. Usage records rejected by the push job (written in the push's own batch) reach the seller this way, at the
 * latest one run later. Online-license uploads overdue the same way wake their actors too.
 */
export async function deliverySweepJob(env: Env, now: number): Promise<JobCounts> {
  const db = getDb(env);
  const streams = await overdueStreams(db, now - OVERDUE_AFTER_MS, MAX_STREAMS_PER_RUN);
  const results = await Promise.allSettled(streams.map((stream) => getInstanceActor(env, stream).kick(stream)));
  const failed = results.filter((result) => result.status === "rejected").length;
  if (failed > 0) log("warn", "webhook.sweep_partial", { streams: streams.length, failed });
  const uploads = await overdueUploadInstances(db, now - OVERDUE_AFTER_MS, MAX_STREAMS_PER_RUN);
  const uploadResults = await Promise.allSettled(uploads.map((instanceId) => getInstanceActor(env, instanceId).kickLicenses()));
  const uploadFailures = uploadResults.filter((result) => result.status === "rejected").length;
  if (uploadFailures > 0) log("warn", "license.sweep_partial", { instances: uploads.length, failed: uploadFailures });
  return { streamsWoken: streams.length - failed, wakeFailures: failed, licenseUploadsWoken: uploads.length - uploadFailures, licenseWakeFailures: uploadFailures };
}
