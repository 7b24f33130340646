import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { type Db, getDb } from "../db/client";
import { getSettings } from "../env";
import type { CallEnvelope, LifecycleCommand } from "../instances/commands";
import { getInstanceActor } from "../actor/instance.actor";
import type { JobCounts } from "../jobs/job-runner";
import { log } from "../observability/log";
import { ResultCode } from "../protocol/result-codes";
import { HOUR_MS, PERIOD_MS, ROLLUP_GRACE_MS, periodOf, periodStart } from "./periods";
import { rollupJob } from "./rollup.job";
import { PAY_PER_USE_MODES } from "./usage-ingest";

/**
 * Hourly reconciliation (the design "reconciliation is scheduled, not hoped for"): fixes what it can, counts and logs
 * the rest for the operator. Every query is bounded by an index on state and time, never by the table's size.
 */

/** The Marketplace freezes an instance at expiry with a callback; this long after expiry we stop waiting for it. */
export const EXPIRY_GRACE_MS = HOUR_MS;
/** Actor calls per run; the rest are frozen by the next run. */
export const MAX_EXPIRY_FREEZES_PER_RUN = 50;
/** How far back records are looked at for rejections and order truth. */
export const LOOKBACK_MS = 25 * HOUR_MS;
/** An event still without a record this long after the roll-up should have taken it is a gap. */
const GAP_SLACK_MS = 10 * 60_000;

export const EXPIRY_ACTIVITY = "expiryReconciliation";

interface GapCounts {
  recordsCreated: number;
  gapEvents: number;
  gapInstances: number;
  /** Instances whose product is still unknown (no order truth yet) although their usage hour closed long ago. */
  waitingForOrderInstances: number;
  /** Instances whose order could never be fetched: their usage is not billed as pay-per-use. */
  orderFetchFailedInstances: number;
  orderFetchFailedEvents: number;
}

/**
 * Re-runs the roll-up, then looks at events still without a record although their period closed long ago: each is
 * a gap, or waits for a reason the roll-up keeps (no product yet, an order that could never be fetched), reported
 * apart so the operator knows what to do.
 */
async function fillGaps(env: Env, db: Db, now: number): Promise<GapCounts> {
  const fixed = await rollupJob(env, now);
  const settings = getSettings(env);
  // Hourly is the shortest period: nothing younger than this can be a gap for any instance.
  const rows = await db.all<{ instance_id: string; oldest: number; events: number; product_id: string | null; order_failed: number }>(sql`
    SELECT e.instance_id, MIN(e.event_time) AS oldest, COUNT(*) AS events, i.product_id,
      (EXISTS (SELECT 1 FROM orders o WHERE o.instance_id = e.instance_id AND o.fetch_state = 'failed')
        AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.instance_id = e.instance_id AND o.fetch_state = 'fetched')) AS order_failed
    FROM usage_events e LEFT JOIN instances i ON i.id = e.instance_id
    WHERE e.record_sn IS NULL AND e.not_billed IS NULL AND e.event_time < ${now - HOUR_MS - ROLLUP_GRACE_MS - GAP_SLACK_MS}
    GROUP BY e.instance_id`);
  const counts: GapCounts = { recordsCreated: fixed.records ?? 0, gapEvents: 0, gapInstances: 0, waitingForOrderInstances: 0, orderFetchFailedInstances: 0, orderFetchFailedEvents: 0 };
  const samples: Record<"gap" | "waiting" | "orderFailed", string[]> = { gap: [], waiting: [], orderFailed: [] };
  for (const row of rows) {
    if (row.order_failed) {
      counts.orderFetchFailedInstances += 1;
      counts.orderFetchFailedEvents += row.events;
      samples.orderFailed.push(row.instance_id);
      continue;
    }
    if (row.product_id === null) {
      // Hourly is the shortest period the product could have: past it, the order has been awaited too long.
      counts.waitingForOrderInstances += 1;
      samples.waiting.push(row.instance_id);
      continue;
    }
    const period = periodOf(settings, row.product_id);
    if (periodStart(period, row.oldest) + PERIOD_MS[period] + ROLLUP_GRACE_MS + GAP_SLACK_MS > now) continue;
    counts.gapEvents += row.events;
    counts.gapInstances += 1;
    samples.gap.push(row.instance_id);
  }
  if (counts.gapInstances > 0) {
    log("warn", "usage.events_without_record", { instances: counts.gapInstances, events: counts.gapEvents, sample: samples.gap.slice(0, 10) });
  }
  if (counts.waitingForOrderInstances > 0) {
    log("warn", "usage.waiting_for_order", { instances: counts.waitingForOrderInstances, sample: samples.waiting.slice(0, 10) });
  }
  if (counts.orderFetchFailedInstances > 0) {
    log("warn", "usage.order_never_fetched", { instances: counts.orderFetchFailedInstances, events: counts.orderFetchFailedEvents, sample: samples.orderFailed.slice(0, 10) });
  }
  return counts;
}

async function recordHealth(db: Db, now: number): Promise<JobCounts> {
  const since = now - LOOKBACK_MS;
  const atRisk = await db.get<{ n: number }>(sql`
    SELECT COUNT(*) AS n FROM usage_records
    WHERE state IN ('pending', 'sent') AND deadline > ${now} AND warn_at <= ${now}`);
  // Expired records that reached the Marketplace are settled by the push job's check after the deadline; those still
  // awaiting it, and those it found not held, are what the operator looks at.
  const expired = await db.get<{ n: number; unconfirmed: number; awaiting: number; not_held: number }>(sql`
    SELECT COUNT(*) AS n, COALESCE(SUM(deliveries > 0), 0) AS unconfirmed,
      COALESCE(SUM(expiry_check = 'due'), 0) AS awaiting, COALESCE(SUM(expiry_check = 'not-held'), 0) AS not_held
    FROM usage_records
    WHERE state = 'expired' AND deadline > ${since}`);
  const rejected = await db.all<{ reject_code: string | null; n: number }>(sql`
    SELECT reject_code, COUNT(*) AS n FROM usage_records
    WHERE state = 'rejected' AND deadline > ${since}
    GROUP BY reject_code`);
  const counts: JobCounts = {
    atRisk: atRisk?.n ?? 0,
    expired: expired?.n ?? 0,
    expiredUnconfirmed: expired?.unconfirmed ?? 0,
    expiredAwaitingCheck: expired?.awaiting ?? 0,
    expiredNotHeld: expired?.not_held ?? 0,
    rejected: 0,
  };
  for (const row of rejected) {
    counts.rejected = (counts.rejected ?? 0) + row.n;
    counts[`rejected:${row.reject_code ?? "unknown"}`] = row.n;
  }
  if ((counts.atRisk ?? 0) > 0) log("warn", "usage.deadline_at_risk", { records: counts.atRisk });
  if ((counts.expired ?? 0) > 0 || (counts.rejected ?? 0) > 0) log("warn", "usage.records_not_billed", counts);
  return counts;
}

/** Instances past their expiry for which no freeze came: frozen through their actor, the reason kept in the inbox. */
async function freezeExpired(env: Env, db: Db, now: number): Promise<{ frozen: number; freezeFailed: number }> {
  const rows = await db.all<{ id: string; expire_at: number }>(sql`
    SELECT id, expire_at FROM instances
    WHERE status = 'active' AND expire_at < ${now - EXPIRY_GRACE_MS} AND is_test = 0
    ORDER BY expire_at LIMIT ${MAX_EXPIRY_FREEZES_PER_RUN}`);
  let frozen = 0;
  let freezeFailed = 0;
  for (const row of rows) {
    const reason = `expired at ${new Date(row.expire_at).toISOString()} and no freeze callback came within ${EXPIRY_GRACE_MS / 60_000} minutes`;
    const requestText = JSON.stringify({ activity: EXPIRY_ACTIVITY, instanceId: row.id, expireAt: new Date(row.expire_at).toISOString(), reason });
    const envelope: CallEnvelope = {
      dialect: "v2",
      activity: EXPIRY_ACTIVITY,
      // Idempotent by state: freezing a frozen instance is a no-op, so a repeat run needs no key.
      idempotencyKey: null,
      fingerprint: createHash("sha256").update(requestText).digest("hex"),
      requestText,
      isTest: false,
      receivedAt: now,
    };
    const command: LifecycleCommand = { kind: "lifecycle", event: "freeze", freezeReason: "expired-gateway", reason };
    try {
      const { outcome: answer, facts } = await getInstanceActor(env, row.id).apply(row.id, envelope, command);
      if (answer.resultCode === ResultCode.Success) {
        frozen += 1;
        log("info", "reconcile.expiry_freeze", facts);
      } else {
        freezeFailed += 1;
        log("error", "instance.expiry_freeze_refused", { instanceId: row.id, resultCode: answer.resultCode });
      }
    } catch (error) {
      freezeFailed += 1;
      log("error", "instance.expiry_freeze_failed", { instanceId: row.id, error: error instanceof Error ? error.message : String(error) });
    }
  }
  if (frozen > 0) log("warn", "instance.frozen_on_expiry", { instances: frozen });
  return { frozen, freezeFailed };
}

/**
 * Order truth (query order, stored by the actor) against what we bill: instances with records in the look-back
 * window whose latest fetched order line says another charging mode or product, or not pay-per-use at all.
 */
async function checkOrderTruth(db: Db, now: number): Promise<JobCounts> {
  const rows = await db.all<{
    instance_id: string;
    ours_mode: string | null;
    ours_product: string | null;
    order_mode: string | null;
    order_product: string | null;
  }>(sql`
    WITH billed AS (
      SELECT DISTINCT instance_id FROM usage_records
      WHERE state IN ('pending', 'sent', 'accepted', 'rejected', 'expired') AND deadline > ${now - LOOKBACK_MS})
    SELECT i.id AS instance_id, i.charging_mode AS ours_mode, i.product_id AS ours_product,
      o.charging_mode AS order_mode, o.product_id AS order_product
    FROM billed b
    JOIN instances i ON i.id = b.instance_id
    JOIN orders o ON o.instance_id = i.id AND o.fetch_state = 'fetched'
    WHERE o.fetched_at = (SELECT MAX(o2.fetched_at) FROM orders o2 WHERE o2.instance_id = i.id AND o2.fetch_state = 'fetched')`);
  const mismatched: string[] = [];
  let billedNotPayPerUse = 0;
  for (const row of rows) {
    const differs =
      (row.order_mode !== null && row.ours_mode !== null && row.order_mode !== row.ours_mode) ||
      (row.order_product !== null && row.ours_product !== null && row.order_product !== row.ours_product);
    if (differs) mismatched.push(row.instance_id);
    if (row.order_mode !== null && !PAY_PER_USE_MODES.has(row.order_mode)) billedNotPayPerUse += 1;
  }
  const failed = await db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM orders WHERE fetch_state = 'failed'`);
  const counts = { orderMismatches: mismatched.length, billedNotPayPerUse, orderFetchFailed: failed?.n ?? 0 };
  if (mismatched.length > 0 || billedNotPayPerUse > 0) {
    log("warn", "usage.order_truth_disagrees", { ...counts, sample: mismatched.slice(0, 10) });
  }
  return counts;
}

export async function reconcileJob(env: Env, now: number): Promise<JobCounts> {
  const db = getDb(env);
  const gaps = await fillGaps(env, db, now);
  const health = await recordHealth(db, now);
  const expiry = await freezeExpired(env, db, now);
  const truth = await checkOrderTruth(db, now);
  return { ...gaps, ...health, ...expiry, ...truth };
}
