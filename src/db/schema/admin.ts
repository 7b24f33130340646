import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { epochMs } from "./common";

/**
 * Every operator action that changed something (admin API): who, what, on which target, when, and what came of it.
 * Instance changes are also in that instance's audit chain; this table holds the operator's side of all of them,
 * including those that touch no instance (a delivery resend, a usage correction, a job run).
 */
export const adminActions = sqliteTable(
  "admin_actions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: epochMs("at").notNull(),
    /** Always "admin" today: the admin API has one token. */
    actor: text("actor").notNull(),
    /** e.g. "replay", "retryProvisioning", "resendDelivery", "correctUsage", "runJob". */
    action: text("action").notNull(),
    /** What it acted on: an instance id, event id, metering_sn or job name. */
    target: text("target").notNull(),
    /** Ids, codes and counts only: never a secret or a personal field. */
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index("admin_actions_at_idx").on(t.at), index("admin_actions_target_idx").on(t.target, t.at)],
);

export type AdminAction = typeof adminActions.$inferSelect;
export type NewAdminAction = typeof adminActions.$inferInsert;
