import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { epochMs } from "./common";

/** One row per cron job run, so /healthz and the admin page can show a stalled scheduler. */
export const jobRuns = sqliteTable(
  "job_runs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    job: text("job").notNull(),
    startedAt: epochMs("started_at").notNull(),
    finishedAt: epochMs("finished_at"),
    status: text("status", { enum: ["running", "ok", "failed"] }).notNull(),
    counts: text("counts", { mode: "json" }).$type<Record<string, number>>(),
    error: text("error"),
  },
  (t) => [
    index("job_runs_job_started_idx").on(t.job, t.startedAt),
    // The daily clean-up deletes by age across all jobs.
    index("job_runs_started_idx").on(t.startedAt),
  ],
);

export type JobRun = typeof jobRuns.$inferSelect;
