import type { Instance } from "../../db/schema/instances";
import type { License } from "../../db/schema/licenses";
import { uploadChange } from "../../license/license-flow";
import { dueUploads, nextUploadAt } from "../../license/license.repo";
import { uploadLicense } from "../../license/license-upload";
import { log } from "../../observability/log";
import type { Duty } from "../alarm-scheduler";
import { commitLicense } from "../commit";
import { type InstanceScope, KV } from "../instance-scope";

/**
 * Uploads of issued online licenses to the Marketplace (retry schedule: src/license/license-flow.ts uploadChange), one
 * at a time; the licenses table holds the rows, the actor's storage only the earliest due time.
 */
export const licenseUploadDuty: Duty = {
  name: "license-upload",
  nextDue: (s) => s.kv.get<number>(KV.licenseDueAt),
  async run(s) {
    const instance = s.kv.get<Instance>(KV.instance);
    if (instance) await uploadDue(s, instance.id);
  },
};

/** Single flight, like deliveries: a getLicense and the alarm share one upload loop per actor. */
export function uploadDue(s: InstanceScope, instanceId: string): Promise<void> {
  if (!s.flights.uploading) {
    s.flights.uploading = uploadLoop(s, instanceId).finally(() => {
      s.flights.uploading = null;
    });
  }
  return s.flights.uploading;
}

async function uploadLoop(s: InstanceScope, instanceId: string): Promise<void> {
  for (;;) {
    const [row] = await dueUploads(s.db, instanceId, Date.now(), 1);
    if (!row) {
      const next = await nextUploadAt(s.db, instanceId);
      if (next === undefined) s.kv.delete(KV.licenseDueAt);
      else s.kv.put(KV.licenseDueAt, next);
      await s.armAlarm();
      // No await between this check and the end of the loop, so nothing committed after it can be missed.
      if (s.flights.uploadAgain) {
        s.flights.uploadAgain = false;
        continue;
      }
      return;
    }
    const result = await uploadLicense(s.settings, row, Date.now());
    await s.serialize(() => recordUpload(s, row, result, Date.now()));
  }
}

async function recordUpload(s: InstanceScope, row: License, result: Awaited<ReturnType<typeof uploadLicense>>, now: number): Promise<void> {
  const { change, next } = uploadChange(s.db, row, result, now);
  await commitLicense(s, change, now, false);
  if (next.state === "failed") log("error", "license.delivery_failed", { instanceId: row.instanceId, eventId: row.eventId, code: next.lastErrorCode });
  else if (next.state === "issued") log("warn", "license.upload_failed", { instanceId: row.instanceId, eventId: row.eventId, attempts: next.uploadAttempts, code: next.lastErrorCode });
}
