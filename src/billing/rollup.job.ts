import { type SQL, sql } from "drizzle-orm";
import { type Db, getDb } from "../db/client";
import type { UsagePeriod } from "../db/schema/billing";
import { type Instance, instances } from "../db/schema/instances";
import { type Settings, getSettings } from "../env";
import type { JobCounts } from "../jobs/job-runner";
import { log } from "../observability/log";
import { type NotBillableSpan, notBillableSpans, statusChangesSince } from "./billable-time";
import { HOUR_MS_LITERAL, d1Statement, rowsForIds } from "./d1-sql";
import { MAX_RECORD_UNITS } from "./quantity";
import { PAY_PER_USE_MODES } from "./usage-ingest";
import {
  HOUR_MS,
  PERIOD_MS,
  ROLLUP_GRACE_MS,
  deadlineOf,
  meteringSnOf,
  periodOf,
  periodStart,
  stillSendable,
  warnAtOf,
} from "./periods";

/**
 * Events → usage records, one per instance per billing period (issue 5, the design "usage is a ledger").
 *
 * Which record an event goes into:
 *   - a closed period with no record yet that can still be sent in time gets its own record;
 *   - an event whose period already has a record (it arrived after the roll-up), or whose period can no longer be
 *     sent in time, is late: it goes into the instance's next record, as a correction in a later period, never as an
 *     edit of a record the Marketplace may already hold. Without usage of its own in a later closed period, the
 *     latest closed period gets a record of late usage only. So per instance, records are made in period order and
 *     each covers the event times [end of the previous record of this run (or 0), end of its period).
 *   - a released instance's last period ends at its release (the final partial hour); usage from when the instance was
 *     frozen, released or failed (billable-time.ts), and all usage of debug instances, is marked not billed first;
 *   - an instance whose product is not known yet, whose order could never be fetched, or that order truth says is not
 *     pay-per-use is not rolled up at all: its events wait, and reconciliation reports them.
 *
 * Crash and concurrency safety: a record and the marking of its events are one D1 batch (one transaction). The
 * value is not computed beforehand but summed, in that batch, from exactly the events the batch marks (the statement
 * just before the marking, with the marking's own condition: nothing runs between them), so a record can neither
 * miss nor double an event. Only the batch that inserted a record (its rollup_token) marks events into
 * it, so an overlapping run whose insert lost the race marks nothing; events are bounded by the highest seq read, so
 * an event stored meanwhile waits for the next run.
 */

/** Records written per D1 batch (one transaction); bounds the batch's duration and the JSON parameter's size. */
export const RECORDS_PER_BATCH = 400;

interface PlannedRecord {
  sn: string;
  instanceId: string;
  productId: string | null;
  period: UsagePeriod;
  periodBegin: number;
  beginTime: number;
  endTime: number;
  coverFrom: number;
  coverTo: number;
  correctionOf: string | null;
  nextAttemptAt: number;
  deadline: number;
  warnAt: number;
}

interface LatestRecord {
  instanceId: string;
  periodBegin: number;
  meteringSn: string;
}

export interface RollupPlan {
  records: PlannedRecord[];
  /** Spans in which an instance with unrolled events was not billable: their events are marked, never billed. */
  notBillable: Array<NotBillableSpan & { instanceId: string }>;
  /** Instances whose product (and so billing period) is not known yet: their events wait for query order. */
  waitingForOrder: number;
  /** Instances whose order could never be fetched: not billed as pay-per-use; their events wait, reported. */
  orderFetchFailed: number;
  /** Instances whose order truth says they are not pay-per-use: their events wait, reported. */
  notPayPerUse: number;
  /** Instances with late usage and no period to put it in yet (their latest closed period already has a record). */
  deferredInstances: number;
  /** Events of instances we do not know: cannot happen through ingestion; reported, never billed. */
  unknownInstances: number;
}

/**
 * The pending work: the hours in which each instance has unrolled events, bounded by seq. A skip scan of the partial
 * index of unrolled events (instance, time; seq is its rowid): from each (instance, hour) found it seeks straight to
 * the first event at or after the next hour, so it reads about three rows per hour with events, however many events
 * the hour holds. A GROUP BY over the index read every event and sorted them all again.
 * INDEXED BY: left to itself SQLite may find the unrolled events through usage_events_record_idx, which holds them all.
 * The hour's length is a literal (HOUR_MS_LITERAL), not bound: bound, it made each event's hour a fraction of its own.
 */

export const unrolledHoursSql = (maxSeq: number) => sql`
    WITH RECURSIVE hours(instance_id, hour) AS (
      SELECT * FROM (
        SELECT instance_id, event_time / ${HOUR_MS_LITERAL}
        FROM usage_events INDEXED BY usage_events_unrolled_idx
        WHERE record_sn IS NULL AND not_billed IS NULL AND seq <= ${maxSeq}
        ORDER BY instance_id, event_time
        LIMIT 1)
      UNION ALL
      SELECT e.instance_id, e.event_time / ${HOUR_MS_LITERAL}
      FROM hours h JOIN usage_events e ON e.seq = (
        SELECT n.seq FROM usage_events n INDEXED BY usage_events_unrolled_idx
        WHERE n.record_sn IS NULL AND n.not_billed IS NULL AND n.seq <= ${maxSeq}
          AND (n.instance_id, n.event_time) >= (h.instance_id, (h.hour + 1) * ${HOUR_MS_LITERAL})
        ORDER BY n.instance_id, n.event_time
        LIMIT 1)
    )
    SELECT instance_id, hour FROM hours`;

async function unrolledHours(db: Db, maxSeq: number): Promise<Map<string, number[]>> {
  const rows = await db.all<{ instance_id: string; hour: number }>(unrolledHoursSql(maxSeq));
  const hours = new Map<string, number[]>();
  for (const row of rows) {
    const list = hours.get(row.instance_id) ?? [];
    list.push(row.hour * HOUR_MS);
    hours.set(row.instance_id, list);
  }
  return hours;
}

async function latestRecords(db: Db, instanceIds: readonly string[]): Promise<Map<string, LatestRecord>> {
  const rows = await rowsForIds(instanceIds, (idsJson) =>
    db.all<{ instance_id: string; period_begin: number; metering_sn: string }>(sql`
      SELECT r.instance_id, r.period_begin, r.metering_sn
      FROM usage_records r
      WHERE r.instance_id IN (SELECT value FROM json_each(${idsJson}))
        AND r.period_begin = (SELECT MAX(r2.period_begin) FROM usage_records r2 WHERE r2.instance_id = r.instance_id)`),
  );
  return new Map(rows.map((row) => [row.instance_id, { instanceId: row.instance_id, periodBegin: row.period_begin, meteringSn: row.metering_sn }]));
}

async function loadInstances(db: Db, ids: readonly string[]): Promise<Map<string, Instance>> {
  const rows = await rowsForIds(ids, (idsJson) =>
    db
      .select()
      .from(instances)
      .where(sql`${instances.id} IN (SELECT value FROM json_each(${idsJson}))`)
      .all(),
  );
  return new Map(rows.map((row) => [row.id, row]));
}

/** The records one instance gets now, given the hours it has unrolled events in. Pure: the rules live here. */
export function planInstance(
  settings: Settings,
  instance: Pick<Instance, "id" | "productId" | "createdAt" | "status" | "releasedAt">,
  eventHours: readonly number[],
  latest: Pick<LatestRecord, "periodBegin" | "meteringSn"> | undefined,
  now: number,
): { records: PlannedRecord[]; deferred: boolean } {
  const period = periodOf(settings, instance.productId);
  const length = PERIOD_MS[period];
  const releasedAt = instance.status === "released" ? instance.releasedAt : null;
  // A release exactly on a boundary ends the previous period, not a new empty one.
  const lastPeriod = releasedAt === null ? Number.POSITIVE_INFINITY : periodStart(period, releasedAt - 1);
  const endOf = (p: number) => (releasedAt !== null && p === lastPeriod ? releasedAt : p + length);
  const isClosed = (p: number) => endOf(p) + ROLLUP_GRACE_MS <= now;
  const latestBegin = latest?.periodBegin ?? Number.NEGATIVE_INFINITY;
  const getsOwnRecord = (p: number) => p > latestBegin && p <= lastPeriod && stillSendable(period, p, now);

  const closed = [...new Set(eventHours.map((hour) => periodStart(period, hour)))].filter(isClosed).sort((a, b) => a - b);
  if (closed.length === 0) return { records: [], deferred: false };
  const own = closed.filter(getsOwnRecord);
  const late = closed.filter((p) => !getsOwnRecord(p));
  let targets = own;
  if (targets.length === 0) {
    // Late usage only: bill it in the latest closed period, if that one has no record yet.
    const latestClosed = Math.min(periodStart(period, now - ROLLUP_GRACE_MS) - length, lastPeriod);
    if (!isClosed(latestClosed) || !getsOwnRecord(latestClosed)) return { records: [], deferred: true };
    targets = [latestClosed];
  }
  const correctionOf = latest && late.some((p) => p <= latest.periodBegin) ? latest.meteringSn : null;
  let coverFrom = 0;
  const records = targets.map((p, index): PlannedRecord => {
    const record: PlannedRecord = {
      sn: meteringSnOf(instance.id, period, p),
      instanceId: instance.id,
      productId: instance.productId,
      period,
      periodBegin: p,
      // open-apis §2.3.5: begin_time ≥ the resource's start; after release, end_time ≤ its close time.
      beginTime: Math.max(p, instance.createdAt),
      endTime: endOf(p),
      coverFrom,
      coverTo: p + length,
      correctionOf: index === 0 ? correctionOf : null,
      nextAttemptAt: now,
      deadline: deadlineOf(period, p),
      warnAt: warnAtOf(period, p),
    };
    coverFrom = p + length;
    return record;
  });
  return { records, deferred: false };
}

/** Instances with a query-order row that failed for good and none that was fetched: their order is unknown for good. */
async function ordersNeverFetched(db: Db, ids: readonly string[]): Promise<Set<string>> {
  const rows = await rowsForIds(ids, (idsJson) =>
    db.all<{ instance_id: string }>(sql`
      SELECT instance_id FROM orders
      WHERE instance_id IN (SELECT value FROM json_each(${idsJson}))
      GROUP BY instance_id
      HAVING SUM(fetch_state = 'failed') > 0 AND SUM(fetch_state = 'fetched') = 0`),
  );
  return new Set(rows.map((row) => row.instance_id));
}

/** Why an instance's events are not rolled up now (they wait), or null when they are. */
function waitReason(instance: Instance, orderFailed: boolean): "waitingForOrder" | "orderFetchFailed" | "notPayPerUse" | null {
  if (orderFailed) return "orderFetchFailed";
  // The billing period (hourly or daily) follows from the product: rolling up before it is known could bill a
  // daily product hourly (issue 9 item 8).
  if (instance.productId === null) return "waitingForOrder";
  if (instance.chargingMode !== null && !PAY_PER_USE_MODES.has(instance.chargingMode)) return "notPayPerUse";
  return null;
}

export async function planRollup(env: Env, db: Db, maxSeq: number, now: number): Promise<RollupPlan> {
  const settings = getSettings(env);
  const hours = await unrolledHours(db, maxSeq);
  const ids = [...hours.keys()];
  const [known, latest, orderFailed] = await Promise.all([loadInstances(db, ids), latestRecords(db, ids), ordersNeverFetched(db, ids)]);
  // A loop, not Math.min(...all): a large backlog would exceed the engine's argument limit.
  let oldestHour = Number.POSITIVE_INFINITY;
  for (const list of hours.values()) for (const hour of list) oldestHour = Math.min(oldestHour, hour);
  // Once per run for every instance, not per event: only status changes after the oldest unrolled usage matter.
  const changes = await statusChangesSince(db, [...known.keys()], oldestHour);
  const plan: RollupPlan = { records: [], notBillable: [], waitingForOrder: 0, orderFetchFailed: 0, notPayPerUse: 0, deferredInstances: 0, unknownInstances: 0 };
  for (const [instanceId, allHours] of hours) {
    const instance = known.get(instanceId);
    if (!instance) {
      plan.unknownInstances += 1;
      continue;
    }
    const since = Math.min(...allHours);
    const spans = notBillableSpans(instance, changes.get(instanceId), since);
    // Hours wholly inside a span have no billable usage; the events of spans are marked before records are written.
    const eventHours = allHours.filter((hour) => !spans.some((span) => span.from <= hour && hour + HOUR_MS <= span.to));
    for (const span of spans) {
      if (allHours.some((hour) => hour < span.to && span.from < hour + HOUR_MS)) plan.notBillable.push({ instanceId, ...span });
    }
    const waiting = instance.isTest ? null : waitReason(instance, orderFailed.has(instanceId));
    if (waiting !== null) {
      plan[waiting] += 1;
      continue;
    }
    const { records, deferred } = planInstance(settings, instance, eventHours, latest.get(instanceId), now);
    plan.records.push(...records);
    if (deferred) plan.deferredInstances += 1;
  }
  return plan;
}

/**
 * The unrolled events a batch's record takes: its instance's, in its cover range, bounded by seq. The sums and the
 * marking both select with this one condition, one after the other in the same transaction, so they see the same
 * events. The cover ranges of one instance's records never overlap (planInstance), so an event is taken by at most
 * one record.
 */
const takenBy = (record: SQL, event: SQL, maxSeq: number) => sql`
  ${event}.instance_id = ${record}.instance_id
  AND ${event}.record_sn IS NULL
  AND ${event}.not_billed IS NULL
  AND ${event}.seq <= ${maxSeq}
  AND ${event}.event_time >= ${record}.cover_from
  AND ${event}.event_time < ${record}.cover_to`;

/**
 * A batch's records summed from the events the batch marks next, before it marks them: one pass over each record's
 * events for all three sums, read from the partial index of unrolled events alone (it holds instance, time, quantity
 * and seq). Summed after the marking, the events would be found through usage_events_record_idx and each one's row
 * read as well. A record that takes no event keeps its zeros and is deleted after the marking.
 */
export const recordSumsSql = (token: string, maxSeq: number) => sql`
  UPDATE usage_records SET ${sumsOf(sql`usage_events e INDEXED BY usage_events_unrolled_idx WHERE ${takenBy(sql`usage_records`, sql`e`, maxSeq)}`)}
  WHERE rollup_token = ${token}`;

/** The record's value, count, late part and correction link, summed from `events` (an `e` FROM clause). */
const sumsOf = (events: SQL) => sql`(usage_units, event_count, late_units, usage_value, correction_of) = (
    SELECT s.units, s.n, s.late,
      -- The same text as formatUnits: at most 4 decimals, trailing zeros and a bare point dropped.
      rtrim(rtrim(printf('%d.%04d', s.units / 10000, s.units % 10000), '0'), '.'),
      CASE WHEN s.late > 0 THEN usage_records.correction_of END
    FROM (
      SELECT COALESCE(SUM(e.quantity_units), 0) AS units, COUNT(*) AS n,
        COALESCE(SUM(CASE WHEN e.event_time < usage_records.period_begin THEN e.quantity_units ELSE 0 END), 0) AS late
      FROM ${events}) AS s)`;

/*
 * A record never carries more than MAX_RECORD_UNITS (billing-rules.md rule 9). A record whose sum is over it takes
 * the longest prefix of its events, oldest first (event time, then seq), that fits; the rest stay unrolled and are
 * late usage for a later record. The first event always fits (one event is at most MAX_QUANTITY_UNITS), so every
 * record takes at least one. Records under the limit, nearly all, are marked by the plain statement and never reach
 * the window below.
 */
const overLimit = (record: SQL) => sql`${record}.usage_units > ${sql.raw(String(MAX_RECORD_UNITS))}`;

const markCappedSql = (token: string, maxSeq: number) => sql`
  WITH taken AS MATERIALIZED (
    SELECT e.seq AS seq, r.metering_sn AS sn,
      SUM(e.quantity_units) OVER (PARTITION BY r.metering_sn ORDER BY e.event_time, e.seq ROWS UNBOUNDED PRECEDING) AS running
    FROM usage_records r JOIN usage_events e INDEXED BY usage_events_unrolled_idx ON ${takenBy(sql`r`, sql`e`, maxSeq)}
    WHERE r.rollup_token = ${token} AND ${overLimit(sql`r`)})
  UPDATE usage_events SET record_sn = taken.sn
  FROM taken
  WHERE usage_events.seq = taken.seq AND taken.running <= ${sql.raw(String(MAX_RECORD_UNITS))}`;

/** A capped record summed again from the events it now holds. */
const resumCappedSql = (token: string) => sql`
  UPDATE usage_records SET ${sumsOf(sql`usage_events e WHERE e.record_sn = usage_records.metering_sn`)}
  WHERE rollup_token = ${token} AND ${overLimit(sql`usage_records`)}`;

/** One transaction: insert the records, sum the events they take, mark those events, drop records that took none. */
function writeStatements(d1: D1Database, records: readonly PlannedRecord[], token: string, maxSeq: number, now: number): D1PreparedStatement[] {
  // One JSON parameter instead of 13 per row: D1's 100-parameter cap would allow only 7 rows per statement.
  const rows = JSON.stringify(records);
  return [
    sql`
      INSERT INTO usage_records (metering_sn, instance_id, product_id, period, period_begin, begin_time, end_time,
        cover_from, cover_to, usage_units, usage_value, event_count, late_units, correction_of, state, attempts,
        next_attempt_at, deadline, warn_at, rollup_token, created_at, updated_at)
      SELECT json_extract(value, '$.sn'), json_extract(value, '$.instanceId'), json_extract(value, '$.productId'),
        json_extract(value, '$.period'), json_extract(value, '$.periodBegin'), json_extract(value, '$.beginTime'),
        json_extract(value, '$.endTime'), json_extract(value, '$.coverFrom'), json_extract(value, '$.coverTo'),
        0, '', 0, 0, json_extract(value, '$.correctionOf'), 'pending', 0,
        json_extract(value, '$.nextAttemptAt'), json_extract(value, '$.deadline'), json_extract(value, '$.warnAt'),
        ${token}, ${now}, ${now}
      FROM json_each(${rows}) WHERE true
      ON CONFLICT DO NOTHING`,
    recordSumsSql(token, maxSeq),
    sql`
      UPDATE usage_events SET record_sn = r.metering_sn
      FROM usage_records r
      WHERE r.rollup_token = ${token} AND ${takenBy(sql`r`, sql`usage_events`, maxSeq)} AND NOT ${overLimit(sql`r`)}`,
    markCappedSql(token, maxSeq),
    resumCappedSql(token),
    sql`DELETE FROM usage_records WHERE rollup_token = ${token} AND event_count = 0`,
    // Carried: what the batch's records left in their cover ranges, over the limit (none for an uncapped record).
    sql`
      SELECT COUNT(*) AS records, COALESCE(SUM(late_units > 0), 0) AS corrections, COALESCE(SUM(event_count), 0) AS events,
        COALESCE(SUM((SELECT COUNT(*) FROM usage_events e INDEXED BY usage_events_unrolled_idx WHERE ${takenBy(sql`r`, sql`e`, maxSeq)})), 0) AS carried
      FROM usage_records r WHERE r.rollup_token = ${token}`,
  ].map((query) => d1Statement(d1, query));
}

/** Events in spans where their instance was not billable leave the backlog for good, with the reason. */
async function markNotBillable(db: Db, spans: RollupPlan["notBillable"], maxSeq: number): Promise<number> {
  let marked = 0;
  for (let i = 0; i < spans.length; i += RECORDS_PER_BATCH) {
    const rows = JSON.stringify(spans.slice(i, i + RECORDS_PER_BATCH));
    // INDEXED BY: left to itself SQLite may walk an instance's events through usage_events_record_idx for each span.
    const result = await db.run(sql`
      UPDATE usage_events INDEXED BY usage_events_unrolled_idx SET not_billed = json_extract(j.value, '$.reason')
      FROM json_each(${rows}) AS j
      WHERE usage_events.instance_id = json_extract(j.value, '$.instanceId')
        AND usage_events.record_sn IS NULL AND usage_events.not_billed IS NULL
        AND usage_events.seq <= ${maxSeq}
        AND usage_events.event_time >= json_extract(j.value, '$.from')
        AND usage_events.event_time < json_extract(j.value, '$.to')`);
    marked += result.meta.changes ?? 0;
  }
  return marked;
}

export async function rollupJob(env: Env, now: number): Promise<JobCounts> {
  const db = getDb(env);
  const top = await db.get<{ max_seq: number | null }>(sql`SELECT MAX(seq) AS max_seq FROM usage_events`);
  const maxSeq = top?.max_seq ?? 0;
  const plan = await planRollup(env, db, maxSeq, now);
  const runId = crypto.randomUUID();
  // Before the records: a record's batch marks every unmarked event of its cover range.
  const eventsNotBilled = await markNotBillable(db, plan.notBillable, maxSeq);
  const counts = {
    planned: plan.records.length,
    records: 0,
    corrections: 0,
    eventsRolled: 0,
    /** Events a record left for a later one: its sum would have exceeded the Marketplace's usage_value limit. */
    eventsCarried: 0,
    notWritten: 0,
    eventsNotBilled,
    deferredInstances: plan.deferredInstances,
    unknownInstances: plan.unknownInstances,
    waitingForOrder: plan.waitingForOrder,
    orderFetchFailed: plan.orderFetchFailed,
    notPayPerUse: plan.notPayPerUse,
  };
  for (let i = 0; i < plan.records.length; i += RECORDS_PER_BATCH) {
    const chunk = plan.records.slice(i, i + RECORDS_PER_BATCH);
    const token = `${runId}:${i / RECORDS_PER_BATCH}`;
    // Through drizzle's client rather than env.DB, so the opt-in D1 query log (src/db/query-log.ts) sees it too.
    const results = await db.$client.batch(writeStatements(db.$client, chunk, token, maxSeq, now));
    const summary = (results.at(-1)?.results[0] as { records: number; corrections: number; events: number; carried: number } | undefined) ?? {
      records: 0,
      corrections: 0,
      events: 0,
      carried: 0,
    };
    counts.records += summary.records;
    counts.corrections += summary.corrections;
    counts.eventsRolled += summary.events;
    counts.eventsCarried += summary.carried;
    counts.notWritten += chunk.length - summary.records;
  }
  // Usage deferred to the next closed period, or waiting for its order, is routine; the rest is not.
  if (counts.unknownInstances > 0) log("warn", "usage.rollup_unknown_instances", counts);
  if (counts.orderFetchFailed > 0 || counts.notPayPerUse > 0) log("warn", "usage.rollup_not_pay_per_use", counts);
  if (counts.eventsCarried > 0) log("warn", "usage.record_limit_reached", { events: counts.eventsCarried });
  if (counts.eventsNotBilled > 0) log("info", "usage.events_not_billable", { events: counts.eventsNotBilled });
  else if (counts.deferredInstances > 0) log("info", "usage.rollup_deferred", counts);
  return counts;
}
