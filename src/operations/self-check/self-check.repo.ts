import { desc, eq, lt, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { selfCheckRuns, selfCheckState } from "../../db/schema/self-check";
import type { CheckResult, SelfCheckRun, SelfCheckScope } from "./self-check.types";

/** Runs kept: a day of hourly runs plus the daily and on-demand ones, more than the history GET serves. */
export const KEPT_RUNS = 50;
export const HISTORY_LENGTH = 20;

/** When the first self-check ran: written once (insert-or-ignore), read back. */
export async function firstSelfCheckAt(db: Db, now: number): Promise<number> {
  await db.insert(selfCheckState).values({ name: "first_run", at: now }).onConflictDoNothing();
  const row = await db.select({ at: selfCheckState.at }).from(selfCheckState).where(eq(selfCheckState.name, "first_run")).get();
  return row?.at ?? now;
}

/** Stores a run and drops all but the latest KEPT_RUNS, in one batch. */
export async function saveRun(db: Db, run: SelfCheckRun, scope: SelfCheckScope, ranAt: number): Promise<void> {
  await db.batch([
    db.insert(selfCheckRuns).values({ ranAt, ok: run.ok, durationMs: run.durationMs, scope, checks: run.checks }),
    db.delete(selfCheckRuns).where(lt(selfCheckRuns.id, sql`(SELECT id FROM self_check_runs ORDER BY id DESC LIMIT 1 OFFSET ${KEPT_RUNS - 1})`)),
  ]);
}

export async function lastRuns(db: Db): Promise<{ last: SelfCheckRun | null; history: Array<{ ranAt: string; ok: boolean }> }> {
  const rows = await db.select().from(selfCheckRuns).orderBy(desc(selfCheckRuns.id)).limit(HISTORY_LENGTH).all();
  const [latest] = rows;
  return {
    last: latest ? { ok: latest.ok, ranAt: new Date(latest.ranAt).toISOString(), durationMs: latest.durationMs, checks: latest.checks as CheckResult[] } : null,
    history: rows.map((row) => ({ ranAt: new Date(row.ranAt).toISOString(), ok: row.ok })),
  };
}
