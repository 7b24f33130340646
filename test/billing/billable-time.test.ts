import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DAY_MS, HOUR_MS } from "../../src/billing/periods";
import { reconcileJob } from "../../src/billing/reconcile.job";
import { rollupJob } from "../../src/billing/rollup.job";
import { ingestUsage } from "../../src/billing/usage-ingest";
import { callV2, makeNewInstance, runOrderFetchesNow } from "../support/marketplace";
import { callLifecycle, eventId, ingest, MINUTE, recordsOf, setClock, startDay, startDayWithInstance, useFakeMarketplace } from "../support/billing";

const fake = useFakeMarketplace();

async function eventsOf(instanceId: string) {
  const rows = await env.DB.prepare("SELECT event_time, record_sn, not_billed FROM usage_events WHERE instance_id = ? ORDER BY event_time")
    .bind(instanceId)
    .all<{ event_time: number; record_sn: string | null; not_billed: string | null }>();
  return rows.results;
}

async function setStatus(instanceId: string, at: number, status: "FREEZE" | "UNFREEZE") {
  setClock(at);
  expect((await callLifecycle({ activity: "updateInstanceStatus", instanceId, status })).json.resultCode).toBe("000000");
}

/**
 * A real newInstance whose query order did not answer yet (order first: 000004 and background retries): the product,
 * and so the billing period, is unknown.
 */
async function createWithoutOrder(): Promise<{ instanceId: string; orderId: string; fetchOrder: () => Promise<void> }> {
  const body = makeNewInstance();
  const answer = await callV2(body);
  if (answer.json.resultCode !== "000004") throw new Error(`expected a purchase waiting for its order: ${answer.text}`);
  const instanceId = String(answer.json.instanceId);
  return { instanceId, orderId: body.orderId, fetchOrder: () => runOrderFetchesNow(instanceId).then(() => undefined) };
}

describe("usage is judged by when it happened (issue 9 item 7)", () => {
  it("bills usage from before a freeze reported after it, refuses usage after it and while frozen, and bills again after the unfreeze", async () => {
    const { h10, instanceId } = await startDayWithInstance(fake());
    await setStatus(instanceId, h10 + 45 * MINUTE, "FREEZE");
    const afterFreeze = await ingest(
      [
        { instanceId, quantity: 3, time: h10 + 30 * MINUTE },
        { instanceId, quantity: 5, time: h10 + 46 * MINUTE },
        { instanceId, quantity: 7, time: h10 + 45 * MINUTE },
      ],
      h10 + 50 * MINUTE,
    );
    expect(afterFreeze.accepted).toHaveLength(1);
    expect(afterFreeze.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, "instance_frozen"],
      [2, "instance_frozen"],
    ]);

    await setStatus(instanceId, h10 + HOUR_MS, "UNFREEZE");
    const afterUnfreeze = await ingest(
      [
        { instanceId, quantity: 1, time: h10 + 55 * MINUTE },
        { instanceId, quantity: 2, time: h10 + HOUR_MS + 5 * MINUTE },
      ],
      h10 + HOUR_MS + 10 * MINUTE,
    );
    expect(afterUnfreeze.rejected.map((r) => r.code)).toEqual(["instance_frozen"]);
    expect(afterUnfreeze.accepted).toHaveLength(1);

    await rollupJob(env, h10 + HOUR_MS + 5 * MINUTE);
    await rollupJob(env, h10 + 2 * HOUR_MS + 5 * MINUTE);
    expect((await recordsOf(instanceId)).map((r) => [r.period_begin, r.usage_value])).toEqual([
      [h10, "3"],
      [h10 + HOUR_MS, "2"],
    ]);
  });

  it("usage accepted just before a freeze but dated after it (clock skew) is never rolled into a record", async () => {
    const { h10, instanceId } = await startDayWithInstance(fake());
    const freezeAt = h10 + 45 * MINUTE;
    // Reported at 10:44:30 for 10:45:20: inside the allowed 60 s of clock skew, and the instance was still active.
    const early = await ingest([{ instanceId, quantity: 4, time: freezeAt + 20_000 }], freezeAt - 30_000);
    expect(early.accepted).toHaveLength(1);
    await ingest([{ instanceId, quantity: 1, time: h10 + 10 * MINUTE }], h10 + 11 * MINUTE);
    await setStatus(instanceId, freezeAt, "FREEZE");

    const counts = await rollupJob(env, h10 + HOUR_MS + 5 * MINUTE);
    expect(counts).toMatchObject({ records: 1, eventsRolled: 1, eventsNotBilled: 1 });
    const [record] = await recordsOf(instanceId);
    expect(record).toMatchObject({ usage_value: "1" });
    expect(await eventsOf(instanceId)).toEqual([
      { event_time: h10 + 10 * MINUTE, record_sn: record?.metering_sn, not_billed: null },
      { event_time: freezeAt + 20_000, record_sn: null, not_billed: "frozen" },
    ]);
    // Out of the backlog for good: neither the next roll-up nor reconciliation sees it again.
    expect(await rollupJob(env, h10 + 2 * HOUR_MS + 5 * MINUTE)).toMatchObject({ planned: 0, eventsNotBilled: 0 });
    expect(await reconcileJob(env, h10 + 2 * HOUR_MS + 30 * MINUTE)).toMatchObject({ gapEvents: 0 });
  });

  it("usage dated after the release, in the final partial hour, is not billed", async () => {
    const { h10, instanceId } = await startDayWithInstance(fake());
    const releasedAt = h10 + 40 * MINUTE;
    await ingest(
      [
        { instanceId, quantity: 2, time: h10 + 10 * MINUTE },
        { instanceId, quantity: 9, time: releasedAt + 30_000 },
      ],
      releasedAt - 10_000,
    );
    setClock(releasedAt);
    expect((await callLifecycle({ activity: "releaseInstance", instanceId })).json.resultCode).toBe("000000");
    expect(await rollupJob(env, releasedAt + 5 * MINUTE)).toMatchObject({ records: 1, eventsNotBilled: 1 });
    expect(await recordsOf(instanceId)).toMatchObject([{ end_time: releasedAt, usage_value: "2" }]);
  });

  it("debug instances (testFlag 1) never accrue usage: refused at ingest, never rolled up", async () => {
    const { h10 } = startDay();
    const answer = await callV2(makeNewInstance({ testFlag: "1" }));
    expect(answer.json.resultCode).toBe("000000");
    const instanceId = String(answer.json.instanceId);
    const refused = await ingest([{ instanceId, quantity: 1, time: h10 + 10 * MINUTE }], h10 + 11 * MINUTE);
    expect(refused.rejected).toMatchObject([{ code: "debug_instance" }]);
    // Test-only: an event stored before ingestion refused debug instances.
    await env.DB.prepare("INSERT INTO usage_events (event_id, instance_id, quantity_units, event_time, received_at) VALUES (?, ?, 10000, ?, ?)")
      .bind(eventId(), instanceId, h10 + 10 * MINUTE, h10 + 11 * MINUTE)
      .run();
    expect(await rollupJob(env, h10 + HOUR_MS + 5 * MINUTE)).toMatchObject({ records: 0, eventsNotBilled: 1 });
    expect(await recordsOf(instanceId)).toEqual([]);
    expect(await eventsOf(instanceId)).toMatchObject([{ record_sn: null, not_billed: "debug-instance" }]);
  });
});

describe("the billing period is known before the first roll-up (issue 9 item 8)", () => {
  it("an instance without a product waits; once its order says daily it is rolled up per day, never hourly first", async () => {
    const dailyEnv = { ...env, DAILY_BILLED_PRODUCTS: "prod-daily" };
    const { day } = startDay();
    const { instanceId, orderId, fetchOrder } = await createWithoutOrder();
    await ingestUsage(dailyEnv, { events: [{ eventId: eventId(), instanceId, quantity: 2, time: day + HOUR_MS + 10 * MINUTE }] }, day + HOUR_MS + 11 * MINUTE);
    expect(await rollupJob(dailyEnv, day + 2 * HOUR_MS + 5 * MINUTE)).toMatchObject({ records: 0, waitingForOrder: 1 });
    expect(await recordsOf(instanceId)).toEqual([]);
    // Reported when it has waited past the hourly period's slack.
    expect(await reconcileJob(dailyEnv, day + 3 * HOUR_MS)).toMatchObject({ waitingForOrderInstances: 1, gapInstances: 0 });

    fake().orders.set(orderId, { chargingMode: "ON_DEMAND", productId: "prod-daily" });
    // The order comes late, but inside the Marketplace's 3-hour window (after it the purchase fails: lifecycle rule 19).
    setClock(day + 3 * HOUR_MS - 5 * MINUTE);
    await fetchOrder();
    await ingestUsage(dailyEnv, { events: [{ eventId: eventId(), instanceId, quantity: 3, time: day + 20 * HOUR_MS }] }, day + 20 * HOUR_MS + MINUTE);
    expect(await rollupJob(dailyEnv, day + 21 * HOUR_MS)).toMatchObject({ records: 0, waitingForOrder: 0 });
    await rollupJob(dailyEnv, day + DAY_MS + 5 * MINUTE);
    expect(await recordsOf(instanceId)).toMatchObject([{ period: "daily", period_begin: day, usage_value: "5" }]);
  });

  it("an instance whose order could never be fetched is not billed as pay-per-use, and reconciliation reports it", async () => {
    const { day } = startDay();
    // The fake knows no such order: query order fails for good on the first background try.
    const { instanceId, fetchOrder } = await createWithoutOrder();
    await fetchOrder();
    const order = await env.DB.prepare("SELECT fetch_state FROM orders WHERE instance_id = ?").bind(instanceId).first();
    expect(order).toEqual({ fetch_state: "failed" });
    // Order first: a purchase whose order never comes is never provisioned; it fails and its usage is refused.
    expect(await env.DB.prepare("SELECT status FROM instances WHERE id = ?").bind(instanceId).first()).toEqual({ status: "failed" });
    const refused = await ingest([{ instanceId, quantity: 1, time: day + 10 * MINUTE }], day + 11 * MINUTE);
    expect(refused.rejected.map((r) => r.code)).toEqual(["instance_failed"]);

    // An instance provisioned before its order was known (a deployment older than order first) with usage: held back.
    await env.DB.prepare("UPDATE instances SET status = 'active' WHERE id = ?").bind(instanceId).run();
    await ingest([{ instanceId, quantity: 1, time: day + 10 * MINUTE }], day + 11 * MINUTE);
    expect(await rollupJob(env, day + HOUR_MS + 5 * MINUTE)).toMatchObject({ records: 0, orderFetchFailed: 1 });
    expect(await reconcileJob(env, day + 2 * HOUR_MS)).toMatchObject({ orderFetchFailedInstances: 1, orderFetchFailedEvents: 1, gapInstances: 0 });
    expect(await recordsOf(instanceId)).toEqual([]);
  });
});
