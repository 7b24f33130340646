import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { DAY_MS, HOUR_MS, meteringSnOf } from "../../src/billing/periods";
import { planRollup, recordSumsSql, rollupJob, unrolledHoursSql } from "../../src/billing/rollup.job";
import { getDb } from "../../src/db/client";
import { uniqueId } from "../support/marketplace";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { SQL } from "drizzle-orm";
import { ingestUsage } from "../../src/billing/usage-ingest";
import {
  callLifecycle,
  createPayPerUseInstance,
  eventId,
  ingest,
  MINUTE,
  recordsOf,
  setClock,
  startDay,
  startDayWithInstance,
  testDay,
  useFakeMarketplace,
} from "../support/billing";

const fake = useFakeMarketplace();

async function eventsOf(instanceId: string) {
  const rows = await env.DB.prepare("SELECT event_time, quantity_units, record_sn FROM usage_events WHERE instance_id = ? ORDER BY event_time").bind(instanceId).all<{
    event_time: number;
    quantity_units: number;
    record_sn: string | null;
  }>();
  return rows.results;
}

/** Every record's value is exactly the sum of the events marked into it, and every rolled event is in one record. */
async function expectLedgerConsistent(): Promise<void> {
  const mismatched = await env.DB.prepare(
    `SELECT r.metering_sn FROM usage_records r
     WHERE r.usage_units != (SELECT COALESCE(SUM(e.quantity_units), 0) FROM usage_events e WHERE e.record_sn = r.metering_sn)`,
  ).all();
  expect(mismatched.results).toEqual([]);
  const dangling = await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM usage_events e WHERE e.record_sn IS NOT NULL AND NOT EXISTS (SELECT 1 FROM usage_records r WHERE r.metering_sn = e.record_sn)",
  ).first<{ n: number }>();
  expect(dangling?.n).toBe(0);
}

describe("hourly roll-up", () => {
  it("rolls a closed hour into one record with exact decimal arithmetic and a deterministic metering_sn, once", async () => {
    const { h10, instanceId } = await startDayWithInstance(fake());
    await ingest(
      [
        { instanceId, quantity: 0.1, time: h10 + 5 * MINUTE },
        { instanceId, quantity: "0.2", time: h10 + 30 * MINUTE },
        { instanceId, quantity: "1.2345", time: h10 + HOUR_MS - 1 },
        { instanceId, quantity: 5, time: h10 + HOUR_MS + 10 * MINUTE },
      ],
      h10 + HOUR_MS + 11 * MINUTE,
    );

    // Still inside the grace after the hour: nothing yet.
    expect(await rollupJob(env, h10 + HOUR_MS + MINUTE)).toMatchObject({ records: 0 });
    const counts = await rollupJob(env, h10 + HOUR_MS + 5 * MINUTE);
    expect(counts).toMatchObject({ records: 1, eventsRolled: 3, corrections: 0 });
    const [record, ...others] = await recordsOf(instanceId);
    expect(others).toEqual([]);
    expect(record).toMatchObject({
      metering_sn: meteringSnOf(instanceId, "hourly", h10),
      period: "hourly",
      period_begin: h10,
      begin_time: h10,
      end_time: h10 + HOUR_MS,
      usage_units: 15_345,
      usage_value: "1.5345",
      event_count: 3,
      late_units: 0,
      correction_of: null,
      state: "pending",
      attempts: 0,
      deadline: h10 + 3 * HOUR_MS,
      created_at: h10 + HOUR_MS + 5 * MINUTE,
    });
    expect(record?.metering_sn).toMatch(/^[0-9a-f]{64}$/);
    // The 11:10 event belongs to an hour that has not closed.
    expect((await eventsOf(instanceId)).map((e) => e.record_sn)).toEqual([record?.metering_sn, record?.metering_sn, record?.metering_sn, null]);

    // A second run of the same hour changes nothing.
    expect(await rollupJob(env, h10 + HOUR_MS + 10 * MINUTE)).toMatchObject({ records: 0, planned: 0 });
    expect(await recordsOf(instanceId)).toHaveLength(1);
    await expectLedgerConsistent();
  });

  it("starts the first record at the instance's start, never before it (open-apis §2.3.5)", async () => {
    const day = testDay();
    const created = day + 10 * HOUR_MS + 20 * MINUTE + 1234;
    setClock(created);
    const { instanceId } = await createPayPerUseInstance(fake());
    await ingest([{ instanceId, quantity: 2, time: created + 10 * MINUTE }], created + 11 * MINUTE);
    await rollupJob(env, day + 11 * HOUR_MS + 5 * MINUTE);
    expect(await recordsOf(instanceId)).toMatchObject([{ begin_time: created, end_time: day + 11 * HOUR_MS, usage_value: "2" }]);
  });

  it("keeps apart the hours and the instances: one record per instance per hour", async () => {
    const { day } = startDay();
    const a = await createPayPerUseInstance(fake());
    const b = await createPayPerUseInstance(fake());
    const h = (n: number) => day + n * HOUR_MS;
    await ingest(
      [
        { instanceId: a.instanceId, quantity: 1, time: h(1) + MINUTE },
        { instanceId: a.instanceId, quantity: 2, time: h(2) + MINUTE },
        { instanceId: b.instanceId, quantity: 4, time: h(2) + 2 * MINUTE },
      ],
      h(2) + 3 * MINUTE,
    );
    await rollupJob(env, h(3) + 5 * MINUTE);
    expect((await recordsOf(a.instanceId)).map((r) => [r.period_begin, r.usage_value])).toEqual([
      [h(1), "1"],
      [h(2), "2"],
    ]);
    expect((await recordsOf(b.instanceId)).map((r) => [r.period_begin, r.usage_value])).toEqual([[h(2), "4"]]);
  });
});

describe("daily-billed products", () => {
  it("roll up per UTC day, pushed by 00:15 and never after 01:00", async () => {
    const dailyEnv = { ...env, DAILY_BILLED_PRODUCTS: "prod-other, prod-daily" };
    const { day } = startDay();
    const { instanceId } = await createPayPerUseInstance(fake(), { productId: "prod-daily" });
    await ingestUsage(dailyEnv, { events: [{ eventId: eventId(), instanceId, quantity: "1.5", time: day + HOUR_MS }] }, day + 2 * HOUR_MS);
    await ingestUsage(dailyEnv, { events: [{ eventId: eventId(), instanceId, quantity: "2.25", time: day + 20 * HOUR_MS }] }, day + 21 * HOUR_MS);
    expect(await rollupJob(dailyEnv, day + 23 * HOUR_MS)).toMatchObject({ records: 0 });
    await rollupJob(dailyEnv, day + DAY_MS + 5 * MINUTE);
    expect(await recordsOf(instanceId)).toMatchObject([
      {
        metering_sn: meteringSnOf(instanceId, "daily", day),
        period: "daily",
        begin_time: day,
        end_time: day + DAY_MS,
        usage_value: "3.75",
        event_count: 2,
        deadline: day + DAY_MS + HOUR_MS,
      },
    ]);
    // A day's usage is refused once 01:00 of the next day has passed.
    const late = await ingestUsage(dailyEnv, { events: [{ eventId: eventId(), instanceId, quantity: 1, time: day + 23 * HOUR_MS }] }, day + DAY_MS + HOUR_MS);
    expect(late.rejected).toMatchObject([{ code: "time_too_old" }]);
  });
});

describe("late events become corrections in a later period", () => {
  it("never edits a record: late usage waits for the next closed hour and is billed there, pointing at the record it corrects", async () => {
    const { h10, instanceId } = await startDayWithInstance(fake());
    const h11 = h10 + HOUR_MS;
    await ingest([{ instanceId, quantity: 3, time: h10 + 30 * MINUTE }], h10 + 31 * MINUTE);
    await rollupJob(env, h11 + 5 * MINUTE);
    const [first] = await recordsOf(instanceId);

    // Reported at 11:20 for 10:50: its hour already has a record.
    await ingest([{ instanceId, quantity: "0.5", time: h10 + 50 * MINUTE }], h11 + 20 * MINUTE);
    // 11:00–12:00 has not closed yet: the late usage waits.
    expect(await rollupJob(env, h11 + 25 * MINUTE)).toMatchObject({ records: 0, deferredInstances: 1 });
    await ingest([{ instanceId, quantity: 1, time: h11 + 40 * MINUTE }], h11 + 41 * MINUTE);
    expect(await rollupJob(env, h11 + HOUR_MS + 5 * MINUTE)).toMatchObject({ records: 1, corrections: 1 });

    const records = await recordsOf(instanceId);
    expect(records).toMatchObject([
      { metering_sn: first?.metering_sn, usage_value: "3", event_count: 1, late_units: 0, updated_at: first?.created_at },
      { period_begin: h11, begin_time: h11, end_time: h11 + HOUR_MS, usage_value: "1.5", event_count: 2, late_units: 5000, correction_of: first?.metering_sn },
    ]);
    await expectLedgerConsistent();
  });

  it("bills late usage alone in the latest closed hour when the instance has no usage of its own there", async () => {
    const { h10, instanceId } = await startDayWithInstance(fake());
    await ingest([{ instanceId, quantity: 3, time: h10 + 30 * MINUTE }], h10 + 31 * MINUTE);
    await rollupJob(env, h10 + HOUR_MS + 5 * MINUTE);
    await ingest([{ instanceId, quantity: 2, time: h10 + 59 * MINUTE }], h10 + HOUR_MS + 30 * MINUTE);
    await rollupJob(env, h10 + 2 * HOUR_MS + 5 * MINUTE);
    const [first, correction] = await recordsOf(instanceId);
    expect(correction).toMatchObject({ period_begin: h10 + HOUR_MS, usage_value: "2", late_units: 20_000, correction_of: first?.metering_sn });
  });

  it("moves usage whose own hour can no longer be sent in time (a skipped roll-up) into the latest closed hour", async () => {
    const { h10, instanceId } = await startDayWithInstance(fake());
    await ingest([{ instanceId, quantity: 7, time: h10 + 30 * MINUTE }], h10 + 31 * MINUTE);
    // No roll-up ran until 12:59:30: the 10:00 record's deadline (13:00, less the safety margin) cannot be met.
    await rollupJob(env, h10 + 2 * HOUR_MS + 59 * MINUTE + 30_000);
    expect(await recordsOf(instanceId)).toMatchObject([{ period_begin: h10 + HOUR_MS, usage_value: "7", late_units: 70_000, correction_of: null }]);
  });
});

describe("the Marketplace's usage_value limit (Double(12,4): 99,999,999.9999 per record)", () => {
  const MAX_VALUE = 99_999_999.9999;

  it("never rolls more into one record: what would overflow the hour waits, whole events, for a later record; nothing lost or billed twice", async () => {
    const { h10, instanceId } = await startDayWithInstance(fake());
    const h11 = h10 + HOUR_MS;
    await ingest(
      [
        { instanceId, quantity: 60_000_000, time: h10 + 10 * MINUTE },
        { instanceId, quantity: "60000000", time: h10 + 20 * MINUTE },
        { instanceId, quantity: "0.5", time: h10 + 30 * MINUTE },
      ],
      h10 + 31 * MINUTE,
    );
    expect(await rollupJob(env, h11 + 5 * MINUTE)).toMatchObject({ records: 1, eventsRolled: 1, eventsCarried: 2 });
    const [first] = await recordsOf(instanceId);
    expect(first).toMatchObject({ period_begin: h10, usage_value: "60000000", event_count: 1 });

    // The carried usage is late usage from here on: the next closed hour bills it, oldest first, within the limit;
    // what does not fit there (11:10's 40,000,000 after 60,000,000.5 of 10:00's) goes on to the next.
    await ingest([{ instanceId, quantity: 40_000_000, time: h11 + 10 * MINUTE }], h11 + 11 * MINUTE);
    expect(await rollupJob(env, h11 + HOUR_MS + 5 * MINUTE)).toMatchObject({ records: 1, eventsRolled: 2, eventsCarried: 1 });
    expect(await rollupJob(env, h11 + 2 * HOUR_MS + 5 * MINUTE)).toMatchObject({ records: 1, eventsRolled: 1, eventsCarried: 0 });
    const records = await recordsOf(instanceId);
    expect(records.map((r) => [r.period_begin, r.usage_value, r.event_count])).toEqual([
      [h10, "60000000", 1],
      [h11, "60000000.5", 2],
      [h11 + HOUR_MS, "40000000", 1],
    ]);
    expect(records.every((r) => Number(r.usage_value) <= MAX_VALUE)).toBe(true);
    expect(records.reduce((sum, r) => sum + r.usage_units, 0)).toBe(1_600_000_005_000);
    expect((await eventsOf(instanceId)).every((e) => e.record_sn !== null)).toBe(true);
    await expectLedgerConsistent();
  });
});

describe("stopped instances", () => {
  it("flushes the final partial hour on release, ending the record at the release time", async () => {
    const { h10, instanceId } = await startDayWithInstance(fake());
    await ingest([{ instanceId, quantity: "1.25", time: h10 + 10 * MINUTE }], h10 + 11 * MINUTE);
    const releasedAt = h10 + 40 * MINUTE;
    setClock(releasedAt);
    expect((await callLifecycle({ activity: "releaseInstance", instanceId })).json.resultCode).toBe("000000");
    expect(await rollupJob(env, releasedAt + MINUTE)).toMatchObject({ records: 0 });
    expect(await rollupJob(env, releasedAt + 5 * MINUTE)).toMatchObject({ records: 1 });
    expect(await recordsOf(instanceId)).toMatchObject([{ period_begin: h10, begin_time: h10, end_time: releasedAt, usage_value: "1.25" }]);
    expect(await rollupJob(env, h10 + 2 * HOUR_MS)).toMatchObject({ records: 0, deferredInstances: 0 });
  });

  it("stops accruing at a freeze: usage before it is billed for its hour, usage after it is refused", async () => {
    const { h10, instanceId } = await startDayWithInstance(fake());
    await ingest([{ instanceId, quantity: 2, time: h10 + 10 * MINUTE }], h10 + 11 * MINUTE);
    setClock(h10 + 20 * MINUTE);
    await callLifecycle({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" });
    const after = await ingest([{ instanceId, quantity: 2, time: h10 + 25 * MINUTE }], h10 + 26 * MINUTE);
    expect(after.rejected).toMatchObject([{ code: "instance_frozen" }]);
    await rollupJob(env, h10 + HOUR_MS + 5 * MINUTE);
    expect(await recordsOf(instanceId)).toMatchObject([{ end_time: h10 + HOUR_MS, usage_value: "2" }]);
  });
});

describe("overlapping roll-ups", () => {
  it("never bill an event twice or lose one, whichever run wins each record", async () => {
    const { day } = startDay();
    const instances = await Promise.all(Array.from({ length: 4 }, () => createPayPerUseInstance(fake())));
    const h = (n: number) => day + n * HOUR_MS;
    const events = instances.flatMap(({ instanceId }, i) =>
      Array.from({ length: 30 }, (_, k) => ({ instanceId, quantity: `${i + 1}.${k % 10}`, time: h(1) + k * 3 * MINUTE })),
    );
    await ingest(events, h(2) + 30 * MINUTE);
    const runs = await Promise.all([rollupJob(env, h(3) + 5 * MINUTE), rollupJob(env, h(3) + 5 * MINUTE), rollupJob(env, h(3) + 10 * MINUTE)]);
    expect(runs.reduce((n, c) => n + (c.records ?? 0), 0)).toBe(instances.length * 2);
    await expectLedgerConsistent();
    const totals = await env.DB.prepare(
      "SELECT (SELECT SUM(quantity_units) FROM usage_events) AS events, (SELECT SUM(usage_units) FROM usage_records) AS records, (SELECT COUNT(*) FROM usage_events WHERE record_sn IS NULL) AS unrolled",
    ).first();
    expect(totals).toEqual({ events: expect.any(Number), records: (totals as { events: number }).events, unrolled: 0 });
  });
});

describe("the roll-up's reads grow with the events, not faster (issue 13)", () => {
  async function planOf(query: SQL): Promise<string[]> {
    const { sql, params } = new SQLiteAsyncDialect().sqlToQuery(query);
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .bind(...params)
      .all<{ detail: string }>();
    return plan.results.map((row) => row.detail);
  }

  it("looks up a run's instances with one D1 query per lookup for up to 5,000 of them, not one per 99", async () => {
    const ids = Array.from({ length: 250 }, () => uniqueId("lookup-"));
    const eventTime = Date.now() - 3 * HOUR_MS;
    await env.DB.batch(
      ids.map((id) =>
        env.DB.prepare("INSERT INTO usage_events (event_id, instance_id, quantity_units, event_time, received_at) VALUES (?, ?, 10000, ?, ?)").bind(`${id}-e`, id, eventTime, eventTime),
      ),
    );
    try {
      const top = await env.DB.prepare("SELECT MAX(seq) AS max_seq FROM usage_events").first<{ max_seq: number }>();
      const roundTrips: string[] = [];
      const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
        if (String(line).includes('"d1.roundtrip"')) roundTrips.push(String(line));
      });
      // Its own env object, so the query log is on for this plan only.
      const plan = await planRollup(env, getDb({ DB: env.DB, D1_QUERY_LOG: "true" }), top?.max_seq ?? 0, Date.now());
      spy.mockRestore();
      // None of these instances exists: every event of theirs is reported, none billed.
      expect(plan.unknownInstances).toBeGreaterThanOrEqual(ids.length);
      // The hours, the instances, their latest records, their failed orders (no status changes: none is known).
      expect(roundTrips.length).toBeLessThanOrEqual(4);
    } finally {
      await env.DB.prepare("DELETE FROM usage_events WHERE event_id LIKE 'LOOKUP-%'").run();
    }
  });

  it("finds the unrolled events through their partial index, never through every event nor a sort of them", async () => {
    const plan = await planOf(unrolledHoursSql(1_000_000));
    expect(plan).toContain("SCAN usage_events USING COVERING INDEX usage_events_unrolled_idx");
    // The skip scan's seek: the next unrolled event at or after the next hour of the same instance.
    expect(plan).toContain("SEARCH n USING COVERING INDEX usage_events_unrolled_idx ((instance_id,event_time)>(?,?))");
    expect(plan.filter((d) => /usage_events_record_idx|SCAN usage_events$|TEMP B-TREE/.test(d))).toEqual([]);
  });

  it("lists each instance's hours with unrolled events once, bounded by seq, reading per hour rather than per event", async () => {
    const { day } = startDay();
    const h = (n: number) => day + n * HOUR_MS;
    const a = `inst-hours-a-${crypto.randomUUID()}`;
    const b = `inst-hours-b-${crypto.randomUUID()}`;
    const insert = (instanceId: string, time: number, extra: { recordSn?: string; notBilled?: string } = {}) =>
      env.DB.prepare("INSERT INTO usage_events (event_id, instance_id, quantity_units, event_time, received_at, record_sn, not_billed) VALUES (?, ?, 1, ?, ?, ?, ?)")
        .bind(eventId(), instanceId, time, time, extra.recordSn ?? null, extra.notBilled ?? null);
    await env.DB.batch([
      ...Array.from({ length: 60 }, (_, k) => insert(a, h(1) + k * MINUTE)),
      insert(a, h(2)),
      insert(a, h(3) + 59 * MINUTE, { recordSn: "rolled-already" }),
      insert(a, h(4) + MINUTE, { notBilled: "frozen" }),
      insert(b, h(1) + HOUR_MS - 1),
    ]);
    const top = await env.DB.prepare("SELECT MAX(seq) AS seq FROM usage_events").first<{ seq: number }>();
    // Stored after the run read its bound: waits for the next run.
    await insert(b, h(5)).run();

    const { sql: text, params } = new SQLiteAsyncDialect().sqlToQuery(unrolledHoursSql(top?.seq ?? 0));
    const result = await env.DB.prepare(text).bind(...params).all<{ instance_id: string; hour: number }>();
    const hoursOf = (id: string) => result.results.filter((row) => row.instance_id === id).map((row) => row.hour * HOUR_MS);
    expect(hoursOf(a)).toEqual([h(1), h(2)]);
    expect(hoursOf(b)).toEqual([h(1)]);
    expect(result.results).toHaveLength(3);
    // 62 unrolled events in 3 instance-hours: a few index entries per hour, not a read of every event.
    expect(result.meta.rows_read).toBeLessThan(20);
  });

  it("sums a batch's records in one pass over the events they take, from the partial index alone", async () => {
    const plan = await planOf(recordSumsSql("token", 1_000_000));
    const eventReads = plan.filter((d) => /\busage_events\b| e /.test(d) || d.startsWith("SEARCH e") || d.startsWith("SCAN e"));
    expect(eventReads).toEqual(["SEARCH e USING COVERING INDEX usage_events_unrolled_idx (instance_id=? AND event_time>? AND event_time<?)"]);
    expect(plan.some((d) => d.includes("USING INDEX usage_records_rollup_idx (rollup_token=?)"))).toBe(true);
    expect(plan.filter((d) => d.startsWith("SCAN usage_records") || d.startsWith("SCAN r"))).toEqual([]);
  });
});
