import type { Instance } from "../../db/schema/instances";
import { emptyOrderRow, type PendingOrderFetch } from "../../instances/order-fetch";
import { statements } from "../../instances/instance.repo";
import { awaitsProvisioning, provisioningDeadline, windowExpiry } from "../../instances/provisioning-window";
import { log } from "../../observability/log";
import type { Duty } from "../alarm-scheduler";
import { commit } from "../commit";
import { type InstanceScope, KV, replacePending } from "../instance-scope";

/** An unprovisioned real purchase fails when the Marketplace's window closes, whatever else is or is not pending. */
export const provisioningWindowDuty: Duty = {
  name: "provisioning-window",
  nextDue(s) {
    const instance = s.kv.get<Instance>(KV.instance);
    return instance && awaitsProvisioning(instance) ? provisioningDeadline(instance) : undefined;
  },
  async run(s, now) {
    const cached = s.kv.get<Instance>(KV.instance);
    if (cached && windowExpiry(cached, now)) await s.serialize(() => closeWindowIfDue(s, cached, now));
  },
};

/**
 * Fails a real purchase still unprovisioned when the Marketplace's window has closed (src/instances/provisioning-window.ts),
 * with instance.failed, and stops its order fetches; returns the instance as it is now. Inside the queue.
 */
export async function closeWindowIfDue(s: InstanceScope, instance: Instance, now: number): Promise<Instance> {
  const expiry = windowExpiry(instance, now);
  if (!expiry) return instance;
  const stopped = (s.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? []).filter((p) => p.purpose === "create");
  const orderRows = stopped.map((item) =>
    statements.upsertOrder(s.db, {
      ...emptyOrderRow(instance.id, item, now),
      fetchState: "failed",
      fetchAttempts: item.attempts,
      lastError: "the Marketplace's 3-hour window closed before the order could be fetched",
    }),
  );
  await commit(s, instance, expiry, now, { statements: orderRows });
  for (const item of stopped) replacePending(s, item, null);
  await s.armAlarm();
  log("warn", "instance.window_closed", { instanceId: instance.id, orderKnown: instance.orderKnownAt !== null, stoppedFetches: stopped.length });
  return expiry.next;
}
