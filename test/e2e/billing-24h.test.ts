import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterAll, expect, it, vi } from "vitest";
import { makePushJob } from "../../src/billing/push.job";
import { reconcileJob } from "../../src/billing/reconcile.job";
import { rollupJob } from "../../src/billing/rollup.job";
import { getDb } from "../../src/db/client";
import { type JobCounts, runJob } from "../../src/jobs/job-runner";
import { type UsagePushConfig, type UsageRecordToPush, pushUsage } from "../../src/marketplace-api/usage.api";
import { callV2, makeNewInstance, uniqueId } from "../support/marketplace";
import { seededRandom } from "../../tools/seeded-random";

/*
 * Issue 5, "Tests and measurements": 24 simulated hours of pay-per-use usage for N instances (200 here; E2E_BILLING_INSTANCES
 * and E2E_BILLING_SEED change it) through the real gateway, with the Marketplace failing on purpose, then a three-way
 * comparison, computed from data, of what the seller reported, what the ledger recorded and what the Marketplace took.
 *
 * Real: instances created by signed newInstance calls and their order truth (ON_DEMAND) fetched by the actor through
 * the outbound service; usage ingested with POST /api/v1/usage; the roll-up, push and reconciliation jobs run every
 * simulated 5 minutes (reconciliation at minute 7) through runJob, as the cron does; the push signed by our client and
 * verified by tools/fake-marketplace, a separate Node server reached through test/support/outbound-marketplace.ts,
 * which applies the Marketplace's rules (005 duplicate metering_sn, 010 duplicate instance + begin + end, 011, 007) and
 * injects the failures. Test-only: the clock (Date is faked for the gateway and the fake gets the same time), and the
 * push job is made with makePushJob({ push }) whose push is pushUsage with the fake's address and a 300 ms timeout
 * instead of 8 s, so an injected timeout costs real seconds only once.
 *
 * Failures injected (times are simulated, UTC, the day starting at 00:00):
 *   HTTP 500 (JSON and HTML), timeouts, partial 94060999 rejections (code 013) and 001 listed under MKT.0000,
 *   drop-after-accept (the fake stores, the connection dies), a push run killed after sending and before recording,
 *   two overlapping roll-ups and pushes, the scheduler stalled for an hour, and two Marketplace outages (502 without
 *   reaching the fake) longer than a record's push window: 11:03–13:30 (hour 10's records expire unsent) and
 *   15:06–17:30 right after a drop-after-accept (hour 14's records are held by the Marketplace but expire in the ledger).
 * The seller meanwhile retries whole batches (duplicates), reuses an event id with other content (conflict), sends
 * invalid events, events up to 2 minutes late (still in their own hour) and events of an hour already rolled up
 * (corrections in a later record); two instances are released mid-hour (final partial hour, later events refused).
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const TICK = 5 * MINUTE;
const HOURS = 24;
/** After the last usage: hour 23 is pushed at 24:05 and its deadline is 26:00. */
const DRAIN_HOURS = 3;
const PUSH_TIMEOUT_MS = 300;
const PRODUCT_ID = "prod-e2e-hourly";
const OUTBOUND = "http://127.0.0.1:9";

// ---- deterministic randomness ----------------------------------------------------------------------------------


// ---- the fake Marketplace, through the outbound service ----------------------------------------------------------

const FAKE_KEY = `billing24h-${crypto.randomUUID()}`;
const FAKE_BASE = `${OUTBOUND}/__e2e/${FAKE_KEY}`;

async function fakeCall<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${FAKE_BASE}${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`fake ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

interface FakeRecord {
  instanceId: string;
  beginTime: string;
  endTime: string;
  usageValue: string;
  meteringSn: string | null;
}

interface FakeReport {
  records: FakeRecord[];
  calls: { total: number; injected: number; authFailures: number };
}

type Failure = Record<string, unknown> & { mode: string };

// ---- units, the test's own arithmetic (independent of src/billing/quantity.ts) -----------------------------------

const unitsText = (units: number) => `${Math.floor(units / 10_000)}.${String(units % 10_000).padStart(4, "0")}`;

function unitsOf(decimal: string): number {
  const match = /^(\d+)(?:\.(\d{1,4}))?$/.exec(decimal);
  if (!match) throw new Error(`not a usage value: ${decimal}`);
  return Number(match[1]) * 10_000 + Number((match[2] ?? "").padEnd(4, "0"));
}

/** yyyyMMdd'T'HHmmss'Z' → epoch ms. */
function openApiTime(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) throw new Error(`not an open-API time: ${text}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

// ---- the seller's side -----------------------------------------------------------------------------------------

interface SentEvent {
  eventId: string;
  instanceId: string;
  /** What the seller sent: a decimal string or a JSON number. */
  quantity: string | number;
  time: number;
}

interface ModelEvent {
  instanceId: string;
  units: number;
  time: number;
  /** When the gateway stored it (the tick's time). */
  arrival: number;
}

interface IngestAnswer {
  accepted: string[];
  duplicates: string[];
  rejected: Array<{ index: number; eventId: string | null; code: string }>;
}

async function postUsage(events: readonly SentEvent[]): Promise<IngestAnswer> {
  const response = await exports.default.fetch(
    new Request("https://gateway.test/api/v1/usage", {
      method: "POST",
      headers: { Authorization: `Bearer ${env.SELLER_API_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ events }),
    }),
  );
  if (response.status !== 200) throw new Error(`POST /api/v1/usage: ${response.status} ${await response.text()}`);
  return (await response.json()) as IngestAnswer;
}

function setClock(time: number): void {
  vi.setSystemTime(time);
}

async function createInstances(count: number): Promise<string[]> {
  const bodies = Array.from({ length: count }, () => {
    const body = makeNewInstance({ orderId: uniqueId("E2E") });
    body.orderLineId = `${body.orderId}-000001`;
    return body;
  });
  // Order truth for test/support/outbound-marketplace.ts, keyed by order id: pay-per-use, no expiry.
  const orders = Object.fromEntries(
    bodies.map((b) => [
      b.orderId,
      {
        orderId: b.orderId,
        orderType: "NEW",
        createTime: "20300101000000",
        orderLine: [{ orderLineId: b.orderLineId, chargingMode: "ON_DEMAND", productInfo: [{ productId: PRODUCT_ID, skuCode: "sku-e2e" }] }],
      },
    ]),
  );
  await fetch(`${OUTBOUND}/__control`, { method: "POST", body: JSON.stringify({ orders }) });
  const ids: string[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    const created = await Promise.all(
      bodies.slice(i, i + 10).map(async (body) => {
        const answer = await callV2(body);
        if (answer.json.resultCode !== "000000") throw new Error(`newInstance: ${answer.text}`);
        const instanceId = String(answer.json.instanceId);
        // The actor's background query order, run now rather than at its (simulated, far future) alarm time.
        await runDurableObjectAlarm(env.INSTANCES.get(env.INSTANCES.idFromName(instanceId)));
        return instanceId;
      }),
    );
    ids.push(...created);
  }
  return ids;
}

afterAll(async () => {
  vi.useRealTimers();
  await fetch(`${FAKE_BASE}/stop`, { method: "POST" }).catch(() => undefined);
});

it("24 simulated hours with injected failures: every unit reported is billed exactly once or accounted as rejected or expired", { timeout: 600_000 }, async () => {
  const started = performance.now();
  const config = await (await fetch(`${OUTBOUND}/__e2e-env`)).json<Record<string, string>>();
  const instanceCount = Number(config.E2E_BILLING_INSTANCES ?? 200);
  const seed = Number(config.E2E_BILLING_SEED ?? 20301105);
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);

  const day = Date.UTC(2030, 10, 4);
  const at = (h: number, m = 0) => day + h * HOUR + m * MINUTE;
  // Instances start half an hour before the first usage.
  vi.useFakeTimers({ toFake: ["Date"], now: at(0, -30) });
  await env.DB.batch([env.DB.prepare("DELETE FROM usage_events"), env.DB.prepare("DELETE FROM usage_records"), env.DB.prepare("DELETE FROM job_runs")]);
  await fakeCall("/start", { usagePushKey: env.USAGE_PUSH_KEY, credentials: { [env.MARKETPLACE_AK]: env.MARKETPLACE_SK }, now: at(0, -30) });

  const instanceIds = await createInstances(instanceCount);
  const modes = await env.DB.prepare(`SELECT charging_mode, product_id, COUNT(*) AS n FROM instances WHERE id IN (SELECT value FROM json_each(?)) GROUP BY 1, 2`)
    .bind(JSON.stringify(instanceIds))
    .all<{ charging_mode: string; product_id: string; n: number }>();
  expect(modes.results).toEqual([{ charging_mode: "ON_DEMAND", product_id: PRODUCT_ID, n: instanceCount }]);
  const creationMs = performance.now() - started;

  // ---- the scenario ----------------------------------------------------------------------------------------------
  const failuresAt = new Map<number, Failure[]>([
    [at(2, 5), [{ mode: "http500" }]],
    [at(3, 5), [{ mode: "timeout" }]],
    [at(4, 5), [{ mode: "drop-after-accept" }]],
    [at(5, 5), [{ mode: "partial", fraction: 0.1, code: "013" }]],
    [at(6, 5), [{ mode: "partial", fraction: 0.05, code: "001", responseCode: "MKT.0000" }]],
    [at(7, 5), [{ mode: "http500", json: false, count: 2 }]],
    [at(8, 5), [{ mode: "drop-after-accept" }, { mode: "timeout" }, { mode: "http500" }]],
    [at(15, 5), [{ mode: "drop-after-accept" }]],
    [at(21, 5), [{ mode: "partial", fraction: 0.02, code: "013" }, { mode: "http500" }]],
    [at(22, 5), [{ mode: "drop-after-accept", count: 2 }]],
  ]);
  const outages = [
    { from: at(11, 3), to: at(13, 30) },
    { from: at(15, 6), to: at(17, 30) },
  ];
  const inOutage = (t: number) => outages.some((o) => t >= o.from && t < o.to);
  const stalled = (t: number) => t > at(19) && t <= at(20);
  const crashAt = at(9, 5);
  const overlapAt = at(10, 5);
  const releases = new Map<number, string>([
    [at(14, 20), instanceIds[0] ?? ""],
    [at(17, 35), instanceIds[1] ?? ""],
  ]);

  // The push as the cron runs it, but to the fake and with a short timeout; one run dies after its first call.
  let crashNextPush = false;
  const push = async (pushConfig: UsagePushConfig, records: UsageRecordToPush[], now: Date) => {
    const result = await pushUsage({ ...pushConfig, apiBase: FAKE_BASE, timeoutMs: PUSH_TIMEOUT_MS }, records, now);
    if (crashNextPush) {
      crashNextPush = false;
      throw new Error("simulated: the isolate died after the Marketplace answered, before the outcome was recorded");
    }
    return result;
  };
  const pushJob = makePushJob({ push });
  const db = getDb(env);
  const totals: Record<string, number> = {};
  const add = (counts: JobCounts) => {
    for (const [name, value] of Object.entries(counts)) totals[name] = (totals[name] ?? 0) + value;
  };
  const failedRuns: string[] = [];
  const job = async (name: string, now: number, run: () => Promise<JobCounts>) => {
    try {
      const counts = await runJob(db, name, now, run);
      if (name === "usagePush") add(counts);
    } catch (error) {
      failedRuns.push(`${name}@${new Date(now).toISOString()}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  // ---- the seller's model of what it reported and the gateway took ---------------------------------------------
  const model = new Map<string, ModelEvent>();
  const released = new Map<string, number>();
  const seller = { sent: 0, batches: 0, resentBatches: 0, duplicates: 0, refused: 0, refusedReleased: 0, conflicts: 0, late: 0, slightlyLate: 0 };
  const expectedRefusals = new Set<string>();
  /** Events the seller sent for an hour that was already over by more than the roll-up's grace. */
  const lateIds = new Set<string>();
  /** Times at which a roll-up ran (every 5-minute cron run, and reconciliation's own roll-up at minute 7). */
  const rollupTimes: number[] = [];
  let eventCounter = 0;
  let lastAccepted = "";
  const newEvent = (instanceId: string, time: number): SentEvent => {
    eventCounter += 1;
    const units = 1 + pick(200_000);
    return { eventId: `e2e-${seed}-${eventCounter}`, instanceId, quantity: random() < 0.5 ? unitsText(units) : units / 10_000, time };
  };

  const ingest = async (events: SentEvent[], now: number) => {
    for (let i = 0; i < events.length; i += 1000) {
      const batch = events.slice(i, i + 1000);
      const answer = await postUsage(batch);
      seller.batches += 1;
      seller.sent += batch.length;
      const byId = new Map(batch.map((e) => [e.eventId, e]));
      for (const id of answer.accepted) {
        const event = byId.get(id);
        if (!event) throw new Error(`accepted an event not sent: ${id}`);
        if (model.has(id)) throw new Error(`accepted twice: ${id}`);
        lastAccepted = id;
        model.set(id, { instanceId: event.instanceId, units: unitsOf(typeof event.quantity === "number" ? String(event.quantity) : event.quantity), time: event.time, arrival: now });
      }
      for (const rejection of answer.rejected) {
        seller.refused += 1;
        if (rejection.code === "instance_released") seller.refusedReleased += 1;
        const key = rejection.eventId ?? `#${rejection.index}`;
        // Every refusal is one the seller provoked on purpose (invalid, released or conflicting).
        expect(expectedRefusals.has(key), `unexpected refusal ${JSON.stringify(rejection)}`).toBe(true);
      }
      seller.duplicates += answer.duplicates.length;
      // One retry in 40: the seller's client lost the answer and sends the whole batch again.
      if (random() < 0.025) {
        const again = await postUsage(batch);
        seller.resentBatches += 1;
        expect(again.accepted).toEqual([]);
        expect(new Set(again.duplicates)).toEqual(new Set(answer.accepted.concat(answer.duplicates)));
        seller.duplicates += again.duplicates.length;
      }
    }
  };

  let tick = 0;
  /** Wall time per step, for the report. */
  const phase: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      phase[name] = (phase[name] ?? 0) + performance.now() - t0;
    }
  };
  for (let now = at(0, 5); now <= at(HOURS + DRAIN_HOURS); now += TICK) {
    tick += 1;
    setClock(now);
    await timed("fake clock", () => fakeCall("/clock", { now, outage: inOutage(now) }));
    const minute = Math.round((now % HOUR) / MINUTE);

    if (now <= at(HOURS)) {
      const events: SentEvent[] = [];
      for (const instanceId of instanceIds) {
        const releasedAt = released.get(instanceId);
        const perTick = 1 + (random() < 0.5 ? 1 : 0);
        for (let k = 0; k < perTick; k += 1) {
          const event = newEvent(instanceId, now - TICK + pick(TICK));
          if (releasedAt !== undefined) expectedRefusals.add(event.eventId);
          events.push(event);
        }
        const previousHour = now - (now % HOUR) - HOUR;
        // Usage of the last 2 minutes of the hour before, reported at :05 just ahead of that hour's roll-up: still its own record.
        if (minute === 5 && previousHour >= at(0) && random() < 0.05) {
          const event = newEvent(instanceId, previousHour + HOUR - 1 - pick(2 * MINUTE));
          if (releasedAt !== undefined) expectedRefusals.add(event.eventId);
          else seller.slightlyLate += 1;
          events.push(event);
        }
        // Usage of an hour already rolled up: a correction in a later record.
        if (minute >= 15 && previousHour >= at(0) && random() < 0.01) {
          const event = newEvent(instanceId, previousHour + pick(HOUR));
          if (releasedAt !== undefined) expectedRefusals.add(event.eventId);
          else {
            seller.late += 1;
            lateIds.add(event.eventId);
          }
          events.push(event);
        }
      }
      if (tick % 24 === 0) {
        const target = instanceIds[2 + pick(instanceIds.length - 2)] ?? "";
        const invalid = [
          { ...newEvent(target, now - MINUTE), quantity: "-1" },
          { ...newEvent(target, now - MINUTE), quantity: "0.00001" },
          { ...newEvent("no-such-instance", now - MINUTE) },
          { ...newEvent(target, now + 10 * MINUTE) },
        ];
        for (const event of invalid) expectedRefusals.add(event.eventId);
        events.push(...invalid);
      }
      await timed("ingest", () => ingest(events, now));
      if (tick % 36 === 0) {
        // An event id reused with other content changes nothing.
        const eventId = lastAccepted;
        const event = model.get(eventId);
        if (event) {
          expectedRefusals.add(eventId);
          await ingest([{ eventId, instanceId: event.instanceId, quantity: unitsText(event.units + 1), time: event.time }], now);
          seller.conflicts += 1;
        }
      }
    }

    const release = releases.get(now);
    if (release) {
      const answer = await callV2({ activity: "releaseInstance", instanceId: release, businessId: crypto.randomUUID() });
      expect(answer.json.resultCode).toBe("000000");
      released.set(release, now);
    }

    if (stalled(now)) continue;
    for (const failure of failuresAt.get(now) ?? []) await fakeCall("/__control/fail", failure);
    if (now === crashAt) crashNextPush = true;
    if (now === overlapAt) {
      await Promise.all([job("usageRollup", now, () => rollupJob(env, now)), job("usageRollup", now, () => rollupJob(env, now))]);
      rollupTimes.push(now);
      await Promise.all([job("usagePush", now, () => pushJob(env, now)), job("usagePush", now, () => pushJob(env, now))]);
    } else {
      await timed("rollup", () => job("usageRollup", now, () => rollupJob(env, now)));
      rollupTimes.push(now);
      await timed("push", () => job("usagePush", now, () => pushJob(env, now)));
    }
    if (minute === 5) {
      const reconcileAt = now + 2 * MINUTE;
      setClock(reconcileAt);
      await fakeCall("/clock", { now: reconcileAt });
      await timed("reconcile", () => job("usageReconcile", reconcileAt, () => reconcileJob(env, reconcileAt)));
      rollupTimes.push(reconcileAt);
    }
  }
  const simulationMs = performance.now() - started - creationMs;

  // ---- the three sources -----------------------------------------------------------------------------------------
  const stored = await env.DB.prepare("SELECT event_id, instance_id, quantity_units, event_time, record_sn FROM usage_events").all<{
    event_id: string;
    instance_id: string;
    quantity_units: number;
    event_time: number;
    record_sn: string | null;
  }>();
  const records = await env.DB.prepare(
    "SELECT metering_sn, instance_id, period_begin, begin_time, end_time, usage_units, usage_value, late_units, state, attempts, reject_code FROM usage_records",
  ).all<{
    metering_sn: string;
    instance_id: string;
    period_begin: number;
    begin_time: number;
    end_time: number;
    usage_units: number;
    usage_value: string;
    late_units: number;
    state: string;
    attempts: number;
    reject_code: string | null;
  }>();
  const fake = await fakeCall<FakeReport>("/__control/records");
  const fakeRejections = await fakeCall<Array<{ meteringSn: string; code: string }>>("/rejections");

  // 1. Reported → stored: exactly the events the gateway said it accepted, each rolled into a record.
  const storedWrong: string[] = [];
  const recordOfEvent = new Map<string, string>();
  for (const row of stored.results) {
    const event = model.get(row.event_id);
    if (!event || event.instanceId !== row.instance_id || event.units !== row.quantity_units || event.time !== row.event_time) storedWrong.push(`${row.event_id}: not as reported`);
    if (row.record_sn === null) storedWrong.push(`${row.event_id}: never rolled up`);
    recordOfEvent.set(row.event_id, row.record_sn ?? "");
  }
  expect(storedWrong).toEqual([]);
  expect(stored.results.length).toBe(model.size);

  // 2. Events → records: each record holds exactly its events' units, and each event sits in the hour the rules give.
  const recordBySn = new Map(records.results.map((r) => [r.metering_sn, r]));
  const recordUnits = new Map<string, number>();
  const recordLate = new Map<string, number>();
  /** A period's record is made by the first roll-up at or after its end (or the release) plus the 2-minute grace. */
  const madeAt = (instanceId: string, period: number) => {
    const releasedAt = released.get(instanceId);
    const end = releasedAt !== undefined && period === releasedAt - (releasedAt % HOUR) ? releasedAt : period + HOUR;
    return rollupTimes.find((t) => t >= end + 2 * MINUTE) ?? Number.POSITIVE_INFINITY;
  };
  const misplaced: string[] = [];
  const movedForward: string[] = [];
  for (const [eventId, event] of model) {
    const record = recordBySn.get(recordOfEvent.get(eventId) ?? "");
    if (!record) throw new Error(`event ${eventId}: its record is missing`);
    const own = event.time - (event.time % HOUR);
    // Its own hour if that record was made after the event arrived, else the first later record made after it.
    let expected = own;
    while (madeAt(event.instanceId, expected) < event.arrival) expected += HOUR;
    if (record.instance_id !== event.instanceId || record.period_begin !== expected) {
      misplaced.push(`${eventId} (${new Date(event.time).toISOString()}, arrived ${new Date(event.arrival).toISOString()}) in ${record.instance_id} ${new Date(record.period_begin).toISOString()}`);
    }
    if (record.period_begin !== own) movedForward.push(eventId);
    recordUnits.set(record.metering_sn, (recordUnits.get(record.metering_sn) ?? 0) + event.units);
    if (event.time < record.period_begin) recordLate.set(record.metering_sn, (recordLate.get(record.metering_sn) ?? 0) + event.units);
  }
  expect(misplaced.slice(0, 5)).toEqual([]);
  // Only usage the seller sent after its hour was rolled up is ever billed in a later hour.
  expect(movedForward.filter((id) => !lateIds.has(id))).toEqual([]);
  expect(movedForward.length).toBeGreaterThan(0);
  const recordWrong = records.results
    .filter((r) => r.usage_units !== (recordUnits.get(r.metering_sn) ?? 0) || r.late_units !== (recordLate.get(r.metering_sn) ?? 0) || unitsOf(r.usage_value) !== r.usage_units)
    .map((r) => `${r.metering_sn}: ${r.usage_value} (${r.usage_units}, late ${r.late_units}) vs events ${recordUnits.get(r.metering_sn) ?? 0} (late ${recordLate.get(r.metering_sn) ?? 0})`);
  expect(recordWrong).toEqual([]);

  // 3. Records → the Marketplace: nothing twice, nothing unknown, every value as recorded.
  const fakeSns = fake.records.map((r) => r.meteringSn ?? "");
  expect(new Set(fakeSns).size, "a metering_sn accepted twice").toBe(fakeSns.length);
  const periodKeys = fake.records.map((r) => `${r.instanceId}|${r.beginTime}|${r.endTime}`);
  expect(new Set(periodKeys).size, "an (instance, begin, end) accepted twice").toBe(periodKeys.length);
  const atFake = new Map(fake.records.map((r) => [r.meteringSn ?? "", r]));
  for (const taken of fake.records) {
    const record = recordBySn.get(taken.meteringSn ?? "");
    if (!record) throw new Error(`the fake holds a record the ledger does not: ${JSON.stringify(taken)}`);
    expect([taken.instanceId, openApiTime(taken.beginTime), openApiTime(taken.endTime), unitsOf(taken.usageValue)]).toEqual([
      record.instance_id,
      Math.floor(record.begin_time / 1000) * 1000,
      Math.floor(record.end_time / 1000) * 1000,
      record.usage_units,
    ]);
  }
  const refusedByFake = new Map<string, string>();
  for (const r of fakeRejections) if (r.code !== "005") refusedByFake.set(r.meteringSn, r.code);

  // 4. The accounting, per instance-hour and in total: every record is exactly one of these.
  const units = { reported: 0, accepted: 0, rejected: 0, expiredUnsent: 0, expiredButHeld: 0 };
  const count = { accepted: 0, rejected: 0, expiredUnsent: 0, expiredButHeld: 0 };
  const rejectedByCode: Record<string, number> = {};
  for (const event of model.values()) units.reported += event.units;
  const perHour = new Map<string, { ledger: number; fake: number; notBilled: number }>();
  for (const record of records.results) {
    const held = atFake.get(record.metering_sn);
    const key = `${record.instance_id}|${record.period_begin}`;
    expect(perHour.has(key), `two records for ${key}`).toBe(false);
    const row = { ledger: record.usage_units, fake: held ? unitsOf(held.usageValue) : 0, notBilled: 0 };
    perHour.set(key, row);
    if (record.state === "accepted") {
      expect(held, `accepted ${record.metering_sn} is not at the fake`).toBeDefined();
      expect(refusedByFake.has(record.metering_sn)).toBe(false);
      count.accepted += 1;
      units.accepted += record.usage_units;
    } else if (record.state === "rejected") {
      expect(held, `rejected ${record.metering_sn} is at the fake`).toBeUndefined();
      expect(record.reject_code).toBe(refusedByFake.get(record.metering_sn));
      count.rejected += 1;
      units.rejected += record.usage_units;
      row.notBilled = record.usage_units;
      rejectedByCode[record.reject_code ?? "?"] = (rejectedByCode[record.reject_code ?? "?"] ?? 0) + 1;
    } else if (record.state === "expired") {
      expect(refusedByFake.has(record.metering_sn)).toBe(false);
      if (held) {
        // Sent, stored by the Marketplace, the answer lost, and no resend got through before the deadline.
        expect(record.attempts).toBeGreaterThan(0);
        count.expiredButHeld += 1;
        units.expiredButHeld += record.usage_units;
      } else {
        count.expiredUnsent += 1;
        units.expiredUnsent += record.usage_units;
        row.notBilled = record.usage_units;
      }
    } else {
      throw new Error(`record ${record.metering_sn} still ${record.state} after the drain`);
    }
  }
  for (const [key, row] of perHour) expect(row.fake + row.notBilled, key).toBe(row.ledger);
  const billedAtFake = fake.records.reduce((sum, r) => sum + unitsOf(r.usageValue), 0);
  expect(billedAtFake).toBe(units.accepted + units.expiredButHeld);
  expect(units.accepted + units.expiredButHeld + units.rejected + units.expiredUnsent).toBe(units.reported);
  expect(refusedByFake.size).toBe(count.rejected);
  expect(fake.calls.authFailures).toBe(0);

  // The only failed job run is the one killed on purpose; reconciliation saw no stranded events.
  expect(failedRuns).toEqual([expect.stringMatching(/^usagePush@.*simulated: the isolate died/)]);
  const gaps = await env.DB.prepare("SELECT counts FROM job_runs WHERE job = 'usageReconcile' AND status = 'ok'").all<{ counts: string }>();
  expect(gaps.results.map((r) => (JSON.parse(r.counts) as JobCounts).gapEvents ?? 0).reduce((a, b) => a + b, 0)).toBe(0);

  const u = (n: number) => unitsText(n).replace(/\.?0+$/, "");
  const report = [
    `billing e2e: ${instanceCount} pay-per-use instances, ${HOURS} simulated hours (+${DRAIN_HOURS} h drain), seed ${seed}`,
    `  seller: ${seller.sent} events in ${seller.batches} POSTs (+${seller.resentBatches} resent whole), gateway took ${model.size}, duplicates ${seller.duplicates}, refused ${seller.refused} (${seller.refusedReleased} after release, ${seller.conflicts} id conflicts), slightly late ${seller.slightlyLate}, late ${seller.late} (billed in a later hour: ${movedForward.length})`,
    `  ledger: ${records.results.length} records; accepted ${count.accepted}, rejected ${count.rejected} ${JSON.stringify(rejectedByCode)}, expired unsent ${count.expiredUnsent}, expired but held by the Marketplace ${count.expiredButHeld}`,
    `  push:   ${totals.calls ?? 0} calls, claimed ${totals.claimed ?? 0}, accepted ${totals.accepted ?? 0} (confirmed by 005: ${totals.confirmedByDuplicate ?? 0}), rejected ${totals.rejected ?? 0}, waiting ${totals.waiting ?? 0}, expired ${totals.expired ?? 0}, lease lost ${totals.leaseLost ?? 0}; failed runs ${failedRuns.length}`,
    `  fake:   ${fake.records.length} records held (each metering_sn and each instance+begin+end once), ${fake.calls.total} calls, ${fake.calls.injected} failures injected, ${fakeRejections.length} records refused in answers (${fakeRejections.length - refusedByFake.size} as 005)`,
    `  units:  reported ${u(units.reported)} = billed ${u(billedAtFake)} (accepted ${u(units.accepted)} + expired-but-held ${u(units.expiredButHeld)}) + rejected ${u(units.rejected)} + expired unsent ${u(units.expiredUnsent)}; ${perHour.size} instance-hours equal in all three`,
    `  time:   ${(creationMs / 1000).toFixed(1)} s creating instances, ${(simulationMs / 1000).toFixed(1)} s simulating ${tick} ticks (${Object.entries(phase)
      .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`)
      .join(", ")}), ${((performance.now() - started) / 1000).toFixed(1)} s in all`,
  ].join("\n");
  await fetch(`${FAKE_BASE}/report`, { method: "POST", body: report });
});
