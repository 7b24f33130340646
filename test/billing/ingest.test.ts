import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_EVENTS_PER_BATCH } from "../../src/billing/usage-ingest";
import { HOUR_MS } from "../../src/billing/periods";
import {
  callLifecycle,
  createPayPerUseInstance,
  createUnknownModeInstance,
  eventId,
  ingest,
  MINUTE,
  setClock,
  startDay,
  startDayWithInstance,
  useFakeMarketplace,
} from "../support/billing";

const fake = useFakeMarketplace();

async function storedEvents(instanceId: string) {
  const rows = await env.DB.prepare("SELECT event_id, quantity_units, event_time FROM usage_events WHERE instance_id = ? ORDER BY seq").bind(instanceId).all();
  return rows.results;
}

function post(body: unknown, init: { token?: string | null; contentType?: string; raw?: string } = {}) {
  const headers: Record<string, string> = { "Content-Type": init.contentType ?? "application/json" };
  const token = init.token === undefined ? env.SELLER_API_TOKEN : init.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  return exports.default.fetch(new Request("https://gateway.test/api/v1/usage", { method: "POST", headers, body: init.raw ?? JSON.stringify(body) }));
}

describe("POST /api/v1/usage: authentication and envelope", () => {
  it("answers 401 JSON without a token, with a wrong token of the same length, and with another scheme; stores nothing", async () => {
    const { instanceId } = await createPayPerUseInstance(fake());
    const body = { events: [{ eventId: eventId(), instanceId, quantity: 1, time: Date.now() }] };
    const wrong = env.SELLER_API_TOKEN.replace(/.$/, (c) => (c === "x" ? "y" : "x"));
    for (const response of [
      await post(body, { token: null }),
      await post(body, { token: wrong }),
      await exports.default.fetch(new Request("https://gateway.test/api/v1/usage", { method: "POST", headers: { Authorization: `Basic ${btoa("a:b")}` }, body: JSON.stringify(body) })),
    ]) {
      expect(response.status).toBe(401);
      expect(response.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({ error: "missing or invalid bearer token" });
    }
    expect(await storedEvents(instanceId)).toEqual([]);
  });

  it("answers 400 for a malformed batch and 413 for too many events or too many bytes", async () => {
    expect((await post(null, { raw: "{not json" })).status).toBe(400);
    expect((await post({ nope: [] })).status).toBe(400);
    expect((await post({ events: [] })).status).toBe(400);
    const many = Array.from({ length: MAX_EVENTS_PER_BATCH + 1 }, (_, i) => ({ eventId: `e${i}`, instanceId: "x", quantity: 1, time: Date.now() }));
    const tooMany = await post({ events: many });
    expect(tooMany.status).toBe(413);
    expect(await tooMany.json()).toMatchObject({ error: expect.stringContaining("1000") });
    const huge = await post(null, { raw: JSON.stringify({ events: [{ eventId: "e", instanceId: "x", quantity: 1, time: Date.now(), pad: "x".repeat(600_000) }] }) });
    expect(huge.status).toBe(413);
    expect((await post({ events: [] }, { contentType: "text/plain" })).status).toBe(400);
  });

  it("stores valid events and answers per event, over HTTP with the real clock", async () => {
    const { instanceId } = await createPayPerUseInstance(fake());
    const good = eventId();
    const response = await post({
      events: [
        { eventId: good, instanceId, quantity: "2.5", time: Date.now() },
        { eventId: eventId(), instanceId, quantity: -1, time: Date.now() },
        { eventId: eventId(), instanceId: "no-such-instance", quantity: 1, time: Date.now() },
      ],
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { accepted: string[]; duplicates: string[]; rejected: Array<{ index: number; code: string }> };
    expect(answer.accepted).toEqual([good]);
    expect(answer.duplicates).toEqual([]);
    expect(answer.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, "invalid_quantity"],
      [2, "unknown_instance"],
    ]);
    expect(await storedEvents(instanceId)).toEqual([{ event_id: good, quantity_units: 25_000, event_time: expect.any(Number) }]);
  });
});

describe("ingestUsage with a fixed clock", () => {
  it("rejects each bad event with its own reason and stores the good ones", async () => {
    const { day, instanceId } = await startDayWithInstance(fake());
    const now = day + 30 * MINUTE;
    const ok = [eventId(), eventId(), eventId()];
    const result = await ingest(
      [
        { eventId: ok[0], instanceId, quantity: 1, time: now - MINUTE },
        { eventId: ok[1], instanceId, quantity: "0.0001", time: new Date(now - 2 * MINUTE).toISOString() },
        { eventId: ok[2], instanceId, quantity: 99_999_999.9999, time: now + 30_000 },
        { instanceId, quantity: "-3", time: now },
        { instanceId, quantity: "abc", time: now },
        { instanceId, quantity: "1.23456", time: now },
        { instanceId, quantity: "1e3", time: now },
        { instanceId, quantity: 0, time: now },
        { instanceId, quantity: "100000000", time: now },
        { instanceId, quantity: 1, time: now + 2 * MINUTE },
        { instanceId, quantity: 1, time: Math.floor(now / 1000) },
        { instanceId, quantity: 1, time: "yesterday" },
        { instanceId, quantity: 1, time: day - MINUTE },
        { eventId: "bad id with spaces", instanceId, quantity: 1, time: now },
        { instanceId: "", quantity: 1, time: now },
      ],
      now,
    );
    expect(result.accepted).toEqual(ok);
    expect(result.rejected.map((r) => r.code)).toEqual([
      "invalid_quantity",
      "invalid_quantity",
      "invalid_quantity",
      "invalid_quantity",
      "invalid_quantity",
      "invalid_quantity",
      "time_in_future",
      "invalid_time",
      "invalid_time",
      "before_instance_start",
      "invalid_event_id",
      "invalid_instance_id",
    ]);
    expect(result.rejected[0]).toMatchObject({ index: 3, error: "quantity must not be negative" });
    expect((await storedEvents(instanceId)).map((e) => e.quantity_units)).toEqual([10_000, 1, 999_999_999_999]);
  });

  it("is idempotent by event id: a repeat is a duplicate, a reused id with other content a conflict, in and across batches", async () => {
    const { day, instanceId } = await startDayWithInstance(fake());
    const now = day + 10 * MINUTE;
    const id = eventId();
    const first = await ingest([{ eventId: id, instanceId, quantity: "1.5", time: now }], now);
    expect(first.accepted).toEqual([id]);
    const again = await ingest(
      [
        { eventId: id, instanceId, quantity: "1.50", time: now },
        { eventId: id, instanceId, quantity: "2", time: now },
      ],
      now + MINUTE,
    );
    expect(again.accepted).toEqual([]);
    expect(again.duplicates).toEqual([id]);
    expect(again.rejected).toMatchObject([{ index: 1, eventId: id, code: "event_id_conflict" }]);
    const other = eventId();
    const inBatch = await ingest(
      [
        { eventId: other, instanceId, quantity: 1, time: now },
        { eventId: other, instanceId, quantity: 1, time: now },
        { eventId: other, instanceId, quantity: 3, time: now },
      ],
      now,
    );
    expect(inBatch).toMatchObject({ accepted: [other], duplicates: [other], rejected: [{ index: 2, code: "event_id_conflict" }] });
    expect((await storedEvents(instanceId)).map((e) => [e.event_id, e.quantity_units])).toEqual([
      [id, 15_000],
      [other, 10_000],
    ]);
  });

  it("refuses frozen, released and non-pay-per-use instances, accepts an unknown charging mode, and still answers duplicates after a release", async () => {
    const { day } = startDay();
    const frozen = await createPayPerUseInstance(fake());
    const released = await createPayPerUseInstance(fake());
    const period = await createPayPerUseInstance(fake(), { chargingMode: "PERIOD" });
    const pkg = await createPayPerUseInstance(fake(), { chargingMode: "ON_DEMAND_PKG" });
    const unknown = await createUnknownModeInstance();
    const now = day + 20 * MINUTE;
    setClock(now);
    const before = eventId();
    expect((await ingest([{ eventId: before, instanceId: released.instanceId, quantity: 1, time: now }], now)).accepted).toEqual([before]);
    expect((await callLifecycle({ activity: "updateInstanceStatus", instanceId: frozen.instanceId, status: "FREEZE" })).json.resultCode).toBe("000000");
    expect((await callLifecycle({ activity: "releaseInstance", instanceId: released.instanceId })).json.resultCode).toBe("000000");

    const result = await ingest(
      [
        { instanceId: frozen.instanceId, quantity: 1, time: now },
        { instanceId: released.instanceId, quantity: 1, time: now },
        { instanceId: period.instanceId, quantity: 1, time: now },
        { instanceId: pkg.instanceId, quantity: 1, time: now },
        { instanceId: unknown, quantity: 1, time: now },
        { eventId: before, instanceId: released.instanceId, quantity: 1, time: now },
      ],
      now,
    );
    expect(result.rejected.map((r) => r.code)).toEqual(["instance_frozen", "instance_released", "not_pay_per_use", "not_pay_per_use"]);
    expect(result.accepted).toHaveLength(1);
    expect(result.duplicates).toEqual([before]);
  });

  it("accepts usage until its hour's push deadline (2 h after the hour) and refuses it after", async () => {
    const { day, instanceId } = await startDayWithInstance(fake());
    const eventTime = day + 10 * MINUTE;
    const lastChance = day + 3 * HOUR_MS - 1;
    expect((await ingest([{ instanceId, quantity: 1, time: eventTime }], lastChance)).accepted).toHaveLength(1);
    const late = await ingest([{ instanceId, quantity: 1, time: eventTime }], day + 3 * HOUR_MS);
    expect(late.rejected).toMatchObject([{ code: "time_too_old" }]);
  });

  it("stores a full batch of 1000 events in insert chunks under D1's 100-parameter cap", async () => {
    const { day, instanceId } = await startDayWithInstance(fake());
    const now = day + 50 * MINUTE;
    const events = Array.from({ length: MAX_EVENTS_PER_BATCH }, (_, i) => ({ instanceId, quantity: "0.0001", time: day + (i % 50) * MINUTE }));
    const result = await ingest(events, now);
    expect(result.accepted).toHaveLength(MAX_EVENTS_PER_BATCH);
    const row = await env.DB.prepare("SELECT COUNT(*) AS n, SUM(quantity_units) AS units FROM usage_events WHERE instance_id = ?").bind(instanceId).first();
    expect(row).toEqual({ n: 1000, units: 1000 });
  });
});
