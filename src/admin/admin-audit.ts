import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { adminActions } from "../db/schema/admin";
import { log } from "../observability/log";

export type AdminActionName = "replay" | "retryProvisioning" | "resendDelivery" | "correctUsage" | "runJob" | "selfCheck" | "resolveProblem";

export interface AdminActionRecord {
  action: AdminActionName;
  target: string;
  at: number;
  /** Ids, codes and counts only. */
  detail: Record<string, unknown>;
}

/** The row for the batch of the change it records, so the record exists exactly when the change does. */
export function adminActionStatement(db: Db, record: AdminActionRecord) {
  return db.insert(adminActions).values({ at: record.at, actor: "admin", action: record.action, target: record.target, detail: record.detail });
}

/**
 * The row, written only when the statement just before it in the batch changed exactly one row: a conditional
 * update that lost a race then leaves no record of an action that did not happen.
 */
export function adminActionIfChanged(db: Db, record: AdminActionRecord) {
  return db
    .insert(adminActions)
    .select(sql`SELECT NULL, ${record.at}, 'admin', ${record.action}, ${record.target}, ${JSON.stringify(record.detail)} WHERE changes() = 1`);
}

/** One log line per operator action, with what the row holds: never a token, key or personal field. */
export function logAdminAction(record: AdminActionRecord): void {
  log("info", "admin.action", { actor: "admin", action: record.action, target: record.target, ...record.detail });
}

/** For changes made elsewhere (the actor's batch, a job run): recorded right after them. */
export async function recordAdminAction(db: Db, record: AdminActionRecord): Promise<void> {
  await adminActionStatement(db, record).run();
  logAdminAction(record);
}
