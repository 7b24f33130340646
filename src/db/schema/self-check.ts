import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { epochMs } from "./common";

/** One row per self-check run (src/operations/self-check): the route's, the CLI's and the crons'. Pruned to the latest few. */
export const selfCheckRuns = sqliteTable(
  "self_check_runs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    ranAt: epochMs("ran_at").notNull(),
    /** Every check that was not skipped passed. */
    ok: integer("ok", { mode: "boolean" }).notNull(),
    durationMs: integer("duration_ms").notNull(),
    /** "hourly" (the checks that leave no trace), "full" (daily cron, the route, the CLI). */
    scope: text("scope", { enum: ["hourly", "full"] }).notNull(),
    /** The answer's `checks`, as served by GET /admin/api/self-check. Ids and codes only, never a key. */
    checks: text("checks", { mode: "json" }).$type<unknown[]>().notNull(),
  },
  (t) => [index("self_check_runs_ran_at_idx").on(t.ranAt)],
);

/**
 * Facts that outlive the pruned runs, one row each: `first_run` is when the first self-check ran, from which the
 * `jobs` check gives a job that never ran twice its interval before calling it stale.
 */
export const selfCheckState = sqliteTable("self_check_state", {
  name: text("name").primaryKey(),
  at: epochMs("at").notNull(),
});

export type SelfCheckRunRow = typeof selfCheckRuns.$inferSelect;
