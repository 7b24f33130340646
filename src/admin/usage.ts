import { and, asc, gte, inArray, lt, sql } from "drizzle-orm";
import { HOUR_MS_LITERAL } from "../billing/d1-sql";
import { HOUR_MS } from "../billing/periods";
import { formatUnits } from "../billing/quantity";
import { findCorrection, insertCorrection, planCorrection } from "../billing/usage-correction";
import type { Db } from "../db/client";
import { type UsageRecordState, usageRecords } from "../db/schema/billing";
import { type CorrectionAnswer, MAX_USAGE_RANGE_HOURS, type UsageQuery, type UsageReport } from "./admin-api.schema";
import { adminActionIfChanged, logAdminAction } from "./admin-audit";
import { AdminApiError } from "./admin-route";
import { iso, usageRecordViewOf } from "./admin-views";

const MAX_PROBLEMS = 500;

/**
 * Records whose period begins in [from, to), counted per hour and state (usage_records_period_begin_idx), and the
 * rejected and expired ones themselves with the Marketplace's code and message. The range is bounded, so the
 * answer is too.
 */
export async function usageReport(db: Db, query: UsageQuery, now: number): Promise<UsageReport> {
  const to = query.to ?? now;
  const from = query.from ?? to - 24 * HOUR_MS;
  if (from >= to) throw new AdminApiError(400, "query parameter from: must be before to");
  if (to - from > MAX_USAGE_RANGE_HOURS * HOUR_MS) throw new AdminApiError(400, `query parameters from, to: at most ${MAX_USAGE_RANGE_HOURS} hours apart`);
  const inRange = and(gte(usageRecords.periodBegin, from), lt(usageRecords.periodBegin, to));
  const problemStates: UsageRecordState[] = query.state ? [query.state] : ["rejected", "expired"];
  const hourOf = sql<number>`(${usageRecords.periodBegin} / ${HOUR_MS_LITERAL}) * ${HOUR_MS_LITERAL}`;
  const [hours, problems] = await Promise.all([
    db
      .select({ hour: hourOf, state: usageRecords.state, records: sql<number>`COUNT(*)`, units: sql<number>`SUM(${usageRecords.usageUnits})` })
      .from(usageRecords)
      .where(and(inRange, query.state ? sql`${usageRecords.state} = ${query.state}` : undefined))
      .groupBy(hourOf, usageRecords.state)
      .orderBy(asc(hourOf), asc(usageRecords.state))
      .all(),
    query.state === undefined || query.state === "rejected" || query.state === "expired"
      ? db.select().from(usageRecords).where(and(inRange, inArray(usageRecords.state, problemStates))).orderBy(asc(usageRecords.periodBegin)).limit(MAX_PROBLEMS).all()
      : Promise.resolve([]),
  ]);
  return {
    from: iso(from),
    to: iso(to),
    hours: hours.map((row) => ({ hour: iso(Number(row.hour)), state: row.state, records: Number(row.records), usage: formatUnits(Number(row.units ?? 0)) })),
    problems: problems.map(usageRecordViewOf),
  };
}

/** POST /admin/api/usage/{meteringSn}/correct: the correction record and the operator's action row in one batch. */
export async function correctUsage(db: Db, meteringSn: string, now: number): Promise<CorrectionAnswer> {
  const plan = await planCorrection(db, meteringSn, now);
  switch (plan.kind) {
    case "not-found":
      throw new AdminApiError(404, `usage record ${meteringSn} does not exist`);
    case "refused":
      throw new AdminApiError(409, plan.reason);
    case "existing":
      return { original: usageRecordViewOf(plan.original), correction: usageRecordViewOf(plan.correction), created: false };
    case "insert": {
      const record = { action: "correctUsage" as const, target: meteringSn, at: now, detail: { correction: plan.row.meteringSn, instanceId: plan.row.instanceId, periodBegin: iso(plan.row.periodBegin) } };
      await db.batch([insertCorrection(db, plan.row), adminActionIfChanged(db, record)]);
      const correction = await findCorrection(db, plan.row.rollupToken);
      if (!correction) throw new AdminApiError(409, `the period ${iso(plan.row.periodBegin)} was just taken by the roll-up; try again`);
      const created = correction.meteringSn === plan.row.meteringSn && correction.createdAt === now;
      if (created) logAdminAction(record);
      return { original: usageRecordViewOf(plan.original), correction: usageRecordViewOf(correction), created };
    }
    default: {
      const unhandled: never = plan;
      throw new Error(`unhandled correction plan ${JSON.stringify(unhandled)}`);
    }
  }
}
