import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HOUR_MS } from "../../../src/billing/periods";
import { parseQuantity } from "../../../src/billing/quantity";
import { MAX_RECORDS_PER_PUSH } from "../../../src/marketplace-api/usage.api";
import { createKeyOf, instanceIdFor } from "../../../src/instances/instance-id";
import { sendDueAlerts } from "../../../src/operations/alerts";
import { CLEARING_KINDS, FINAL_KINDS } from "../../../src/operations/problem-kinds";
import { PING_EVENT_TYPE } from "../../../src/operations/self-check/checks/seller-webhook.check";
import { formatCompactUtc, formatOnlineLicenseTime } from "../../../src/protocol/time-formats";
import { runScheduled } from "../../../src/schedule";
import { dueWorkStatement } from "../../support/background-work";
import { setClock } from "../../support/billing";
import { runDueOrderFetches } from "../../support/lifecycle";
import { licenseRequest } from "../../support/licenses";
import { type MarketplaceAnswer, type SignOptions, callV2, uniqueId } from "../../support/marketplace";
import { sellerCall } from "../../support/seller-api";
import { runAlarm } from "../../support/webhook-delivery";
import { d1Faults, failD1WritesBy, resetD1Faults, withFaultyD1 } from "../support/faulty-d1";
import { seededRandom } from "../../../tools/seeded-random";
import { FaultyWorld, type Target } from "../support/faulty-world";
import { PROPERTY_TIMEOUT_MS, profile, seed as replaySeed } from "../support/profile";

/*
 * A day of production in simulated time (issue 24): purchases (a third pay-per-use), usage ingested every hour through
 * the seller API, the crons every five minutes (roll-up, push, sweep) and every hour (reconcile, self-check),
 * renewals, expiries (FREEZE) and releases, with a seeded fraction of every outbound call failing (faulty-world.ts)
 * and of every D1 write failing (faulty-d1.ts). The Marketplace and the seller retry what was not acknowledged, as
 * they do. Then the faults stop, a few simulated hours of recovery run, and the day is audited.
 *
 * Time is the faked Date (setClock) and the jobs' explicit `now`; actors' alarms are armed in 2031 and never fire by
 * themselves, so the test runs them (runAlarm) when their work is due: nothing sleeps.
 */

const SCALE = profile === "full" ? { instances: 1_000, hours: 24, recoveryHours: 6 } : { instances: 50, hours: 6, recoveryHours: 3 };
const FAULT_RATES: Record<Target, number> = { queryOrder: 0.2, usagePush: 0.25, licenseUpload: 0.25, sellerWebhook: 0.2, alertWebhook: 0.2 };
const D1_WRITE_FAULT_RATE = 0.02;
const REJECT_RATE = 0.06;
const PAY_PER_USE_SHARE = 1 / 3;
/** Of the active subscriptions without a license, the share that asks for one each hour. */
const LICENSE_SHARE = 0.1;
const TICK_MS = 5 * 60_000;
const MARKETPLACE_RETRIES = 25;
const PARALLEL = 16;

const DAY = Date.UTC(2031, 2, 3);
const runSeed = replaySeed ?? Math.floor(Math.random() * 2 ** 31);
const random = seededRandom(runSeed);
/** Separate streams, so the faults drawn do not shift the day's plan when a call count changes. */
const faultRandom = seededRandom(runSeed ^ 0x5bd1e995);
const d1Random = seededRandom(runSeed ^ 0x27d4eb2f);

interface Purchase {
  instanceId: string;
  orderId: string;
  payPerUse: boolean;
  boughtAt: number;
  expireAt: number;
  status: "active" | "frozen" | "released";
  renewals: number;
  licensed: boolean;
}

const world = new FaultyWorld(faultRandom, REJECT_RATE);
const purchases: Purchase[] = [];
const ingestedUnits = new Map<string, number>();
const stats = { v2Calls: 0, v2Retries: 0, ingestBatches: 0, ingestRetries: 0, events: 0, d1Faults: 0, cronFailures: 0, alarmFailures: 0, resentAfterAck: 0, alertsResent: 0, snsResent: 0, licenses: 0 };

function faultsOn(on: boolean): void {
  world.rates = on ? { ...FAULT_RATES } : { queryOrder: 0, usagePush: 0, licenseUpload: 0, sellerWebhook: 0, alertWebhook: 0 };
  failD1WritesBy(on ? () => d1Random() < D1_WRITE_FAULT_RATE : null);
}

function context(): string {
  return `seed ${runSeed} (replay: RELIABILITY_SEED=${runSeed} RELIABILITY_PROFILE=${profile})`;
}

async function inChunks<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += PARALLEL) await Promise.all(items.slice(i, i + PARALLEL).map(work));
}

/** The Marketplace's retries: the same call (new nonce, new businessId) until answered 000000. */
async function untilSuccess(instanceId: string, body: Record<string, unknown>, options: SignOptions = {}): Promise<MarketplaceAnswer> {
  let answer: MarketplaceAnswer | undefined;
  for (let attempt = 0; attempt < MARKETPLACE_RETRIES; attempt++) {
    stats.v2Calls += 1;
    if (attempt > 0) stats.v2Retries += 1;
    answer = await callV2(body.activity === "getLicenseAsync" ? body : { ...body, businessId: crypto.randomUUID() }, options).catch(() => undefined);
    if (answer?.json.resultCode === "000000") return answer;
    // An online license is asynchronous: 000004 says it is issued and its upload is being retried.
    if (body.activity === "getLicenseAsync" && answer?.json.resultCode === "000004") return answer;
    // Waiting for its order (000004): the actor retries query order by its alarm; that alarm runs now.
    if (body.activity === "newInstance") await runDueOrderFetches(instanceId).catch(() => false);
  }
  throw new Error(`${String(body.activity)} of ${instanceId} never succeeded: ${answer?.text ?? "no answer"}; ${context()}`);
}

async function buy(now: number): Promise<void> {
  const orderId = uniqueId("DAY");
  const payPerUse = random() < PAY_PER_USE_SHARE;
  // Some monthly subscriptions run out during the day (renewed or frozen), most later.
  const expireAt = payPerUse ? Number.POSITIVE_INFINITY : now + (random() < 0.3 ? Math.floor(random() * SCALE.hours) + 1 : 30 * 24) * HOUR_MS;
  world.orders.set(orderId, payPerUse ? { chargingMode: "ON_DEMAND" } : { chargingMode: "PERIOD", expireAt });
  const instanceId = instanceIdFor(createKeyOf(orderId, { orderLineId: `${orderId}-000001` }, false));
  const purchase: Purchase = { instanceId, orderId, payPerUse, boughtAt: now, expireAt, status: "active", renewals: 0, licensed: false };
  purchases.push(purchase);
  const answer = await untilSuccess(instanceId, { activity: "newInstance", orderId, orderLineId: `${orderId}-000001` });
  expect(answer.json.instanceId, context()).toBe(instanceId);
}

/** Online licenses (getLicenseAsync on /saas): the gateway issues one and uploads it to the Marketplace's event. */
async function requestLicenses(): Promise<void> {
  const wanting = purchases.filter((p) => !p.payPerUse && !p.licensed && p.status === "active" && p.expireAt > Date.now() + 2 * HOUR_MS && random() < LICENSE_SHARE);
  await inChunks(wanting, async (p) => {
    p.licensed = true;
    stats.licenses += 1;
    // Within the order's validity, which the Marketplace checks the requested period against.
    const body = licenseRequest(p.instanceId, { expireTime: formatOnlineLicenseTime(p.expireAt - HOUR_MS) });
    await untilSuccess(p.instanceId, body, { path: "/saas", key: env.SAAS_ACCESS_KEY });
  });
}

/** Renewals before expiry, FREEZE at expiry, release of some frozen ones a few hours later. */
async function lifecycle(now: number): Promise<void> {
  const due = purchases.filter((p) => !p.payPerUse && p.status !== "released" && p.expireAt <= now + HOUR_MS);
  await inChunks(due, async (p) => {
    if (p.status === "active" && random() < 0.5) {
      p.renewals += 1;
      p.expireAt += 30 * 24 * HOUR_MS;
      const orderId = `${p.orderId}R${p.renewals}`;
      const body = { activity: "refreshInstance", scene: "RENEWAL", orderId, orderLineId: `${orderId}-000001`, instanceId: p.instanceId, expireTime: formatCompactUtc(p.expireAt) };
      await untilSuccess(p.instanceId, body);
    } else if (p.status === "active" && p.expireAt <= now) {
      p.status = "frozen";
      await untilSuccess(p.instanceId, { activity: "updateInstanceStatus", instanceId: p.instanceId, status: "FREEZE" });
    } else if (p.status === "frozen" && p.expireAt + 3 * HOUR_MS <= now) {
      p.status = "released";
      await untilSuccess(p.instanceId, { activity: "releaseInstance", instanceId: p.instanceId });
    }
  });
}

/** The seller's product reports the hour's usage so far; it retries a batch until every event is acknowledged. */
async function ingestHour(hourStart: number, now: number): Promise<void> {
  const events = purchases
    .filter((p) => p.payPerUse && p.boughtAt < now)
    .flatMap((p) =>
      Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({
        eventId: uniqueId("U"),
        instanceId: p.instanceId,
        quantity: 1 + Math.floor(random() * 5),
        time: new Date(Math.max(hourStart, p.boughtAt) + Math.floor(random() * (now - Math.max(hourStart, p.boughtAt)))).toISOString(),
      })),
    );
  for (let i = 0; i < events.length; i += 500) {
    const batch = events.slice(i, i + 500);
    let acknowledged = false;
    for (let attempt = 0; attempt < MARKETPLACE_RETRIES && !acknowledged; attempt++) {
      stats.ingestBatches += 1;
      if (attempt > 0) stats.ingestRetries += 1;
      const answer = await sellerCall("/api/v1/usage", { body: { events: batch } }).catch(() => undefined);
      const rejected = answer?.json.rejected as unknown[] | undefined;
      if (answer?.status === 200) {
        expect(rejected, `usage refused: ${JSON.stringify(answer.json).slice(0, 300)}; ${context()}`).toEqual([]);
        acknowledged = true;
      }
    }
    expect(acknowledged, `a usage batch was never acknowledged; ${context()}`).toBe(true);
    for (const event of batch) {
      const parsed = parseQuantity(event.quantity);
      if (!parsed.ok) throw new Error(parsed.problem);
      ingestedUnits.set(event.instanceId, (ingestedUnits.get(event.instanceId) ?? 0) + parsed.units);
      stats.events += 1;
    }
  }
}

/** What the actors' alarms would do by now: webhook deliveries and query-order retries that are due. */
async function runDueAlarms(now: number): Promise<void> {
  const due = await env.DB.prepare(
    `SELECT stream AS id FROM events WHERE delivery_state = 'pending' AND next_attempt_at <= ?1
     UNION SELECT instance_id AS id FROM orders WHERE fetch_state = 'pending' AND next_fetch_at <= ?1
     UNION SELECT instance_id AS id FROM licenses WHERE state = 'issued' AND next_upload_at <= ?1`,
  )
    .bind(now)
    .all<{ id: string }>();
  await inChunks(due.results, ({ id }) =>
    runAlarm(id).catch(() => {
      stats.alarmFailures += 1;
    }),
  );
}

const alertEnv = () => withFaultyD1(env);

async function tick(now: number): Promise<void> {
  setClock(now);
  const faulty = withFaultyD1(env);
  await runScheduled(faulty, "*/5 * * * *", now).catch(() => {
    stats.cronFailures += 1;
  });
  if (new Date(now).getUTCMinutes() === 5) {
    const at = now + 2 * 60_000;
    setClock(at);
    await runScheduled(faulty, "7 * * * *", at).catch(() => {
      stats.cronFailures += 1;
    });
  }
  await runDueAlarms(Date.now());
  // The operations actor's alarm: alerts due now.
  await sendDueAlerts(alertEnv(), Date.now()).catch(() => {
    stats.alarmFailures += 1;
  });
}

// Before the shared settle-background-work hook: with the clock still in 2031 it would wait on work due "now" forever.
afterEach(() => {
  resetD1Faults(null);
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("a simulated day at scale with faults everywhere", () => {
  it(
    `${SCALE.instances} instances, ${SCALE.hours} h of faults, ${SCALE.recoveryHours} h of recovery: billed once, delivered once in order, problems and alerts right`,
    async ({ task }) => {
      const started = performance.now();
      world.install();
      setClock(DAY);
      faultsOn(true);
      const perHour = Math.ceil(SCALE.instances / Math.max(1, SCALE.hours - 1));
      for (let hour = 0; hour < SCALE.hours; hour++) {
        const hourStart = DAY + hour * HOUR_MS;
        for (let minute = 0; minute < 60; minute += TICK_MS / 60_000) {
          const now = hourStart + minute * 60_000;
          setClock(now);
          if (minute === 0) {
            const toBuy = Math.min(perHour, SCALE.instances - purchases.length);
            for (let i = 0; i < toBuy; i += PARALLEL) await Promise.all(Array.from({ length: Math.min(PARALLEL, toBuy - i) }, () => buy(now)));
            await lifecycle(now);
          }
          if (minute === 20) await requestLicenses();
          if (minute === 40) await ingestHour(hourStart, now);
          await tick(now);
        }
      }
      const injectedWrites = [...d1Faults().injected];
      stats.d1Faults = injectedWrites.length;
      faultsOn(false);
      const recoveryDeliveries = world.deliveries.length;
      const recoveryAlerts = world.alerts.length;
      const resentBeforeRecovery = world.resent.length;
      const takenBeforeRecovery = new Set(world.received.keys());
      const recoveryStart = DAY + SCALE.hours * HOUR_MS;
      for (let now = recoveryStart; now < recoveryStart + SCALE.recoveryHours * HOUR_MS; now += TICK_MS) await tick(now);
      const simulatedMs = performance.now() - started;

      // ---- usage: every unit billed exactly once or accounted --------------------------------------------------
      // The Marketplace takes an sn once; the gateway resends one only when the D1 write recording its answer failed,
      // never once the faults are off, and never with another value.
      expect(world.changedOnResend, `metering_sns resent with another value; ${context()}`).toEqual([]);
      const resentFresh = world.resent.slice(resentBeforeRecovery).filter((sn) => !takenBeforeRecovery.has(sn));
      expect(resentFresh, `metering_sns first sent with the faults off and yet sent again; ${context()}`).toEqual([]);
      const failedLedgerWrites = injectedWrites.filter((sql) => /usage_records/i.test(sql)).length;
      expect(resentBeforeRecovery, `resent metering_sns, against failed writes of usage_records (${failedLedgerWrites}); ${context()}`).toBeLessThanOrEqual(failedLedgerWrites * MAX_RECORDS_PER_PUSH);
      stats.snsResent = resentBeforeRecovery;
      const records = await env.DB.prepare("SELECT metering_sn, instance_id, usage_units, usage_value, state FROM usage_records").all<{
        metering_sn: string;
        instance_id: string;
        usage_units: number;
        usage_value: string;
        state: string;
      }>();
      const open = records.results.filter((r) => !["accepted", "rejected", "expired"].includes(r.state));
      expect(open.map((r) => `${r.metering_sn} ${r.state}`), `records not settled after recovery; ${context()}`).toEqual([]);
      const billed = new Map<string, number>();
      for (const r of records.results) {
        billed.set(r.instance_id, (billed.get(r.instance_id) ?? 0) + r.usage_units);
        if (r.state === "accepted") {
          expect(world.received.get(r.metering_sn), `accepted ${r.metering_sn} as the Marketplace took it; ${context()}`).toBe(r.usage_value);
          expect(world.rejectedSns.has(r.metering_sn), `${r.metering_sn} accepted but refused; ${context()}`).toBe(false);
        }
        if (r.state === "rejected") expect(world.rejectedSns.has(r.metering_sn), `${r.metering_sn} rejected but not refused; ${context()}`).toBe(true);
      }
      expect(Object.fromEntries(billed), `units per instance: records against ingested; ${context()}`).toEqual(Object.fromEntries(ingestedUnits));
      expect(new Set(world.received.keys()).size, context()).toBe(records.results.filter((r) => r.state !== "expired").length);

      // ---- events: each acknowledged once, in order per instance, retries under the same webhook-id ------------
      const events = await env.DB.prepare("SELECT id, stream, delivery_state AS state, body FROM events ORDER BY stream, seq").all<{ id: string; stream: string; state: string; body: string }>();
      expect(events.results.filter((e) => e.state !== "delivered").map((e) => `${e.stream} ${e.id} ${e.state}`), `events not delivered; ${context()}`).toEqual([]);
      const byId = new Map(events.results.map((e) => [e.id, e]));
      const storedFirst = new Map<string, string[]>();
      const seen = new Set<string>();
      // The hourly self-check's ping is no event of the outbox.
      for (const delivery of world.deliveries.filter((d) => !d.body.includes(`"type":"${PING_EVENT_TYPE}"`))) {
        const event = byId.get(delivery.webhookId);
        expect(event, `a delivery under an unknown webhook-id ${delivery.webhookId}: ${delivery.body.slice(0, 200)}; ${context()}`).toBeDefined();
        if (!event) continue;
        expect(delivery.body, `a retry of ${event.id} carries the same body; ${context()}`).toBe(event.body);
        if (!delivery.stored || seen.has(delivery.webhookId)) continue;
        seen.add(delivery.webhookId);
        storedFirst.set(event.stream, [...(storedFirst.get(event.stream) ?? []), event.id]);
      }
      const expectedOrder = new Map<string, string[]>();
      for (const e of events.results) expectedOrder.set(e.stream, [...(expectedOrder.get(e.stream) ?? []), e.id]);
      expect(Object.fromEntries(storedFirst), `per stream, the seller's first receipt of each event in commit order; ${context()}`).toEqual(Object.fromEntries(expectedOrder));
      // Once acknowledged (a 2xx that reached the gateway), sent again only when the D1 write recording that failed
      // (at-least-once; the seller drops the repeat by its webhook-id): never once the faults are off.
      const answeredAt = new Map<string, number>();
      const resentAfterAck: string[] = [];
      for (const [index, delivery] of world.deliveries.entries()) {
        if (!byId.has(delivery.webhookId)) continue;
        const ackedAt = answeredAt.get(delivery.webhookId);
        if (ackedAt !== undefined) {
          resentAfterAck.push(delivery.webhookId);
          expect(ackedAt < recoveryDeliveries, `${delivery.webhookId} sent again (delivery ${index}) after its acknowledgement with no fault (delivery ${ackedAt}); ${context()}`).toBe(true);
        }
        if (delivery.answered && ackedAt === undefined) answeredAt.set(delivery.webhookId, index);
      }
      expect(resentAfterAck.length, `resends after an acknowledgement, at most one per D1 fault; ${context()}`).toBeLessThanOrEqual(stats.d1Faults);
      stats.resentAfterAck = resentAfterAck.length;

      // ---- licenses: each uploaded once it was issued, or failed for good (license.delivery_failed stays open) ------
      const licenses = await env.DB.prepare("SELECT event_id, instance_id, state FROM licenses").all<{ event_id: string; instance_id: string; state: string }>();
      expect(licenses.results.length, context()).toBe(stats.licenses);
      for (const license of licenses.results) {
        expect(["delivered", "failed"], `license of ${license.event_id}; ${context()}`).toContain(license.state);
        if (license.state === "delivered") expect(world.uploads.get(license.event_id), `uploads of ${license.event_id}; ${context()}`).toBeGreaterThanOrEqual(1);
      }

      // ---- problems: the clearing ones cleared, the final ones open; one alert per edge ------------------------
      const problems = await env.DB.prepare("SELECT id, kind, subject, count, resolved_at, alert_opened, alert_resolved FROM problems ORDER BY id").all<{
        id: number;
        kind: string;
        subject: string;
        count: number;
        resolved_at: number | null;
        alert_opened: string;
        alert_resolved: string | null;
      }>();
      const clearing: readonly string[] = CLEARING_KINDS;
      const final: readonly string[] = FINAL_KINDS;
      const stillOpen = problems.results.filter((p) => clearing.includes(p.kind) && p.resolved_at === null);
      expect(stillOpen.map((p) => `#${p.id} ${p.kind} ${p.subject}`), `clearing problems still open after recovery; ${context()}`).toEqual([]);
      const closedFinal = problems.results.filter((p) => final.includes(p.kind) && p.resolved_at !== null);
      expect(closedFinal.map((p) => `#${p.id} ${p.kind}`), `final problems closed without a person; ${context()}`).toEqual([]);
      // One alert per edge, none per repeat of a problem. An edge is announced again only when the D1 write recording
      // its sending failed (at-least-once, as webhooks): never once the faults are off, at most once per such failure.
      let alertsResent = 0;
      for (const p of problems.results) {
        for (const [type, state] of [["problem.opened", p.alert_opened], ["problem.resolved", p.alert_resolved]] as const) {
          const sent = world.alerts.flatMap((a, index) => (a.problemId === p.id && a.type === type ? [index] : []));
          const expected = state === "sent" ? 1 : 0;
          const label = `${type} alerts of problem #${p.id} ${p.kind} (${state}, seen ${p.count} times) at ${JSON.stringify(sent)}, faults off from ${recoveryAlerts}; ${context()}`;
          expect(sent.length, label).toBeGreaterThanOrEqual(expected);
          if (sent.length > 1) {
            expect(sent.slice(0, -1).every((index) => index < recoveryAlerts), label).toBe(true);
            alertsResent += sent.length - 1;
          }
          if (state !== "sent") expect(sent.length, label).toBe(0);
        }
        expect(["sent", "failed"], `problem #${p.id} ${p.kind} alert opened ${p.alert_opened}; ${context()}`).toContain(p.alert_opened);
        if (p.resolved_at !== null) expect(["sent", "failed"], `problem #${p.id} ${p.kind} alert resolved ${p.alert_resolved}; ${context()}`).toContain(p.alert_resolved);
      }
      const failedProblemWrites = injectedWrites.filter((sql) => /^\s*update\s+"?problems"?/i.test(sql)).length;
      expect(alertsResent, `alerts sent again, at most one per failed write of problems (${failedProblemWrites}); ${context()}`).toBeLessThanOrEqual(failedProblemWrites);
      stats.alertsResent = alertsResent;
      if (problems.results.some((p) => p.alert_opened === "failed" || p.alert_resolved === "failed")) {
        expect(problems.results.some((p) => p.kind === "alert.failing"), `an alert given up on opens alert.failing; ${context()}`).toBe(true);
      }

      // ---- the faults did happen, at every target ---------------------------------------------------------------
      for (const target of ["queryOrder", "usagePush", "licenseUpload", "sellerWebhook", "alertWebhook"] as const) expect(world.faults[target], `faults at ${target}; ${context()}`).toBeGreaterThan(0);
      expect(world.rejectedSns.size, context()).toBeGreaterThan(0);
      // Problems opened during the faults, of both sorts: refused usage is a final one.
      expect(problems.results.some((p) => clearing.includes(p.kind)), `no clearing problem opened; ${context()}`).toBe(true);
      expect(problems.results.some((p) => p.kind === "usage.rejected" && p.resolved_at === null), `usage.rejected open; ${context()}`).toBe(true);
      expect(world.unexpected, `calls to targets the test does not know; ${context()}`).toEqual([]);

      const kinds = problems.results.reduce<Record<string, number>>((all, p) => ({ ...all, [p.kind]: (all[p.kind] ?? 0) + 1 }), {});
      // What the shared settle hook will find due once the real clock is back (it waits up to 5 s on it).
      vi.useRealTimers();
      const dueAfter = (await dueWorkStatement(env.DB, Date.now()).first<{ n: number }>())?.n ?? 0;
      task.meta.runSummary = (
        `day-at-scale ${profile}: ${SCALE.instances} instances, ${SCALE.hours} h + ${SCALE.recoveryHours} h recovery, ${context()} in ${(simulatedMs / 1000).toFixed(1)} s;` +
          ` calls ${JSON.stringify(world.calls)} faults ${JSON.stringify(world.faults)}; ${JSON.stringify(stats)}; records ${records.results.length}` +
          ` (${world.rejectedSns.size} refused); events ${events.results.length}; problems ${JSON.stringify(kinds)}; alerts ${world.alerts.length}; due at the real clock afterwards ${dueAfter}`
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
