import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { rowsForIds } from "./d1-sql";
import type { NotBilledReason } from "../db/schema/billing";
import type { Instance, InstanceStatus } from "../db/schema/instances";

/**
 * Usage is judged by when it happened, not by when it was reported (issue 9 item 7, docs/billing-rules.md): usage at
 * 10:30 reported at 10:50 after a 10:45 freeze is billable; usage at 10:46 is not, nor usage while frozen; after an
 * unfreeze it is again. The status at a time t is the current status walked back through the status changes after t:
 * the `from_status` of the first change after t, or the current status when nothing changed since. So only the
 * changes after the oldest usage in question are read (audit_events_status_change_idx), once per batch.
 */

/** Statuses in which an instance accrues usage; provisioning counts so that usage of a slow start is not lost. */
const BILLABLE: ReadonlySet<InstanceStatus> = new Set(["provisioning", "active"]);

export interface StatusChange {
  at: number;
  /** null for the row that created the instance. */
  from: InstanceStatus | null;
  to: InstanceStatus | null;
}

export type BillableInstance = Pick<Instance, "status" | "isTest">;

/** Status changes after `since` of each instance, oldest first. An instance with none is absent from the map. */
export async function statusChangesSince(db: Db, instanceIds: readonly string[], since: number): Promise<Map<string, StatusChange[]>> {
  const changes = new Map<string, StatusChange[]>();
  if (instanceIds.length === 0) return changes;
  // One JSON parameter per slice of instances (D1 binds at most 100 parameters). `from_status IS NOT to_status`
  // repeats the partial index's condition word for word, so SQLite may use it. Rows come in instance and seq order.
  const rows = await rowsForIds(instanceIds, (idsJson) =>
    db.all<{ instance_id: string; at: number; from_status: InstanceStatus | null; to_status: InstanceStatus | null }>(sql`
      SELECT instance_id, at, from_status, to_status FROM audit_events
      WHERE instance_id IN (SELECT value FROM json_each(${idsJson}))
        AND from_status IS NOT to_status AND at > ${since}
      ORDER BY instance_id, seq`),
  );
  for (const row of rows) {
    const list = changes.get(row.instance_id) ?? [];
    list.push({ at: row.at, from: row.from_status, to: row.to_status });
    changes.set(row.instance_id, list);
  }
  return changes;
}

function reasonOf(status: InstanceStatus | null): NotBilledReason | null {
  if (status === null) return "not-started";
  if (BILLABLE.has(status)) return null;
  return status === "frozen" ? "frozen" : status === "released" ? "released" : "failed";
}

/** Why usage at `time` is not billable, or null when it is. `changes` must hold every status change after `time`. */
export function notBillableAt(instance: BillableInstance, changes: readonly StatusChange[] | undefined, time: number): NotBilledReason | null {
  // Debug instances (testFlag 1) never bill: the Marketplace's debugger is not a customer.
  if (instance.isTest) return "debug-instance";
  // A change at exactly `time` has already happened: usage at the freeze's instant is not billed.
  const next = changes?.find((change) => change.at > time);
  return reasonOf(next ? next.from : instance.status);
}

export interface NotBillableSpan {
  from: number;
  to: number;
  reason: NotBilledReason;
}

/**
 * The spans after `since` in which the instance was not billable, from its status changes after `since`: the span
 * before the first change has that change's `from` status, each later span the `to` of the change that opened it.
 */
export function notBillableSpans(instance: BillableInstance, changes: readonly StatusChange[] | undefined, since: number): NotBillableSpan[] {
  if (instance.isTest) return [{ from: since, to: Number.MAX_SAFE_INTEGER, reason: "debug-instance" }];
  const list = changes ?? [];
  const spans: NotBillableSpan[] = [];
  let start = since;
  let status: InstanceStatus | null = list[0] ? list[0].from : instance.status;
  for (const change of [...list, null]) {
    const end = change ? change.at : Number.MAX_SAFE_INTEGER;
    const reason = reasonOf(status);
    if (reason !== null && end > start) {
      const last = spans.at(-1);
      if (last && last.to === start && last.reason === reason) last.to = end;
      else spans.push({ from: start, to: end, reason });
    }
    if (change) {
      start = change.at;
      status = change.to;
    }
  }
  return spans;
}
