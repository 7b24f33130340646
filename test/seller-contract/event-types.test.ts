import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HOUR_MS } from "../../src/billing/periods";
import { pushJob } from "../../src/billing/push.job";
import { reconcileJob } from "../../src/billing/reconcile.job";
import { OVERDUE_AFTER_MS, deliverySweepJob } from "../../src/jobs/delivery-sweep.job";
import { USAGE_PUSH_PATHS } from "../../src/marketplace-api/usage.api";
import type { Delivery } from "../../tools/fake-seller-backend/fake-seller-backend.ts";
import { partialFailure } from "../support/billing";
import { sendWith, signedKitV2Request, tenantBody } from "../support/kit";
import { callV2, expireTime, instanceRow, uniqueId } from "../support/marketplace";
import { sellerCall } from "../support/seller-api";
import { type OutboxRow, allDelivered, deliveriesOf, makeOrder, makeOrderFetchDueAndRunAlarm, makePurchase, marketplaceOrders, outboxOf, waitForOutbox } from "../support/webhook-delivery";

/*
 * Every event type of the seller contract, produced by the real Worker (signed Marketplace calls, kit syncs, the jobs)
 * and delivered by the instance actors to the fake seller backend, which verifies each delivery with the
 * `standardwebhooks` package. Builtin provisioning mode.
 */

const DAY_MS = 24 * HOUR_MS;

afterEach(() => {
  vi.restoreAllMocks();
});

async function buy(overrides: Record<string, unknown> = {}): Promise<{ instanceId: string; orderId: string }> {
  const { body, instanceId } = makePurchase(overrides);
  const answer = await callV2(body);
  expect(answer.json).toMatchObject({ resultCode: "000000", instanceId });
  return { instanceId, orderId: body.orderId };
}

/**
 * The seller's side of a stream once everything is acknowledged: each stored event arrived verified, under its own
 * webhook-id, with exactly the stored body, acknowledged exactly once, in commit order.
 */
async function expectDeliveredInOrder(instanceId: string, rows: OutboxRow[]): Promise<Delivery[]> {
  const seen = await deliveriesOf(instanceId);
  expect(seen.every((d) => d.verified), JSON.stringify(seen.filter((d) => !d.verified))).toBe(true);
  const acked = seen.filter((d) => d.status !== null && d.status >= 200 && d.status < 300);
  expect(acked.map((d) => d.webhookId)).toEqual(rows.map((row) => row.id));
  expect(acked.map((d) => d.event)).toEqual(rows.map((row) => JSON.parse(row.body)));
  for (const d of acked) expect(d.webhookId).toBe(d.event?.id);
  return acked;
}

const dataOf = (rows: OutboxRow[], type: string): Record<string, unknown> => {
  const row = rows.find((r) => r.type === type);
  if (!row) throw new Error(`no ${type} in ${rows.map((r) => r.type).join(",")}`);
  return (JSON.parse(row.body) as { data: Record<string, unknown> }).data;
};

describe("every event type reaches the seller's backend, signed and in order per instance", () => {
  it("a purchase's life: created, provisioned, renewed, upgraded (after its order), frozen, unfrozen, kit.synced, released", async () => {
    const { instanceId, orderId } = await buy();
    await waitForOutbox(instanceId, allDelivered(2));

    const renewedTo = new Date(Date.now() + 2 * 365 * DAY_MS);
    const renewOrder = uniqueId("CS");
    const renew = await callV2({ activity: "refreshInstance", instanceId, orderId: renewOrder, orderLineId: `${renewOrder}-000001`, scene: "RENEWAL", expireTime: expireTime(renewedTo) });
    expect(renew.json.resultCode).toBe("000000");

    // The upgrade's new order names another product and SKU: the event waits until it is fetched.
    const upgradeOrder = uniqueId("CS");
    await marketplaceOrders.set(upgradeOrder, makeOrder(upgradeOrder, { productId: "OFFI000000002", skuCode: "SKU-PRO" }));
    const upgrade = await callV2({ activity: "upgradeInstance", instanceId, orderId: upgradeOrder, orderLineId: `${upgradeOrder}-000001` });
    expect(upgrade.json.resultCode).toBe("000000");
    await waitForOutbox(instanceId, (rows) => rows.some((row) => row.type === "instance.upgraded"));

    expect((await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" })).json.resultCode).toBe("000000");
    expect((await callV2({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" })).json.resultCode).toBe("000000");
    const tenantId = uniqueId("T");
    expect((await sendWith(signedKitV2Request("tenantSync", tenantBody({ instanceId, tenantId })), {}, env.KIT_ACCESS_KEY)).json.resultCode).toBe("000000");
    expect((await callV2({ activity: "releaseInstance", instanceId })).json.resultCode).toBe("000000");

    const rows = await waitForOutbox(instanceId, allDelivered(8));
    expect(rows.map((row) => row.type)).toEqual([
      "instance.created",
      "instance.provisioned",
      "instance.renewed",
      "instance.upgraded",
      "instance.frozen",
      "instance.unfrozen",
      "kit.synced",
      "instance.released",
    ]);
    await expectDeliveredInOrder(instanceId, rows);
    for (const row of rows) expect(row.attempts).toBe(1);

    // Entitlement data: the order is known from the first event on; each event carries the version it produced.
    expect(dataOf(rows, "instance.created")).toMatchObject({ instanceId, status: "provisioning", orderId, productId: "OFFI000000001", skuCode: "SKU-STD", chargingMode: "PERIOD", customer: { id: "cust-1", name: "Test Buyer" }, appInfo: null });
    expect(dataOf(rows, "instance.provisioned")).toMatchObject({ status: "active", appInfo: { frontEndUrl: expect.any(String) } });
    expect(dataOf(rows, "instance.renewed")).toMatchObject({ scene: "RENEWAL", expireAt: new Date(Math.floor(renewedTo.getTime() / 1000) * 1000).toISOString() });
    expect(dataOf(rows, "instance.upgraded")).toMatchObject({ productId: "OFFI000000002", skuCode: "SKU-PRO", previous: { productId: "OFFI000000001", skuCode: "SKU-STD" } });
    expect(dataOf(rows, "instance.frozen")).toMatchObject({ status: "frozen", reason: "marketplace", frozenReason: "marketplace" });
    expect(dataOf(rows, "instance.unfrozen")).toMatchObject({ status: "active", reason: "marketplace", frozenReason: null });
    expect(dataOf(rows, "kit.synced")).toEqual({ tenantId, sync: "tenant", flag: 1 });
    expect(dataOf(rows, "instance.released")).toMatchObject({ status: "released" });
    const versions = rows.filter((row) => row.type.startsWith("instance.")).map((row) => dataOf([row], row.type).version as number);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));

    // The entitlement the seller reads agrees with the last event.
    expect((await sellerCall(`/api/v1/instances/${instanceId}`)).json).toMatchObject({ status: "released", productId: "OFFI000000002", skuCode: "SKU-PRO" });
  });

  it("a renewal that lifts the gateway's expiry freeze: frozen (expired-gateway), then renewed and unfrozen with reason renewed", async () => {
    const orderId = uniqueId("CS");
    await marketplaceOrders.set(orderId, makeOrder(orderId, { expireTime: expireTime(new Date(Date.now() - 2 * DAY_MS)) }));
    const { instanceId } = await buy({ orderId, orderLineId: `${orderId}-000001` });

    // The gateway's own expiry check (no freeze callback came within the grace period).
    const counts = await reconcileJob(env, Date.now());
    expect(counts).toMatchObject({ frozen: 1 });
    expect(await instanceRow(instanceId)).toMatchObject({ status: "frozen", frozen_reason: "expired-gateway" });

    const renewOrder = uniqueId("CS");
    const renew = await callV2({ activity: "refreshInstance", instanceId, orderId: renewOrder, orderLineId: `${renewOrder}-000001`, scene: "RENEWAL", expireTime: expireTime(new Date(Date.now() + 365 * DAY_MS)) });
    expect(renew.json.resultCode).toBe("000000");

    const rows = await waitForOutbox(instanceId, allDelivered(5));
    expect(rows.map((row) => row.type)).toEqual(["instance.created", "instance.provisioned", "instance.frozen", "instance.renewed", "instance.unfrozen"]);
    expect(dataOf(rows, "instance.frozen")).toMatchObject({ reason: "expired-gateway", status: "frozen" });
    expect(dataOf(rows, "instance.unfrozen")).toMatchObject({ reason: "renewed", status: "active", frozenReason: null });
    await expectDeliveredInOrder(instanceId, rows);
  });

  it("instance.failed when query order refuses the purchase's order for good (provisioning gave up)", async () => {
    const orderId = uniqueId("CS");
    // An expireTime that is no time: a permanent BAD_ORDER_INFO, not worth retrying.
    await marketplaceOrders.set(orderId, makeOrder(orderId, { expireTime: "not-a-time" }));
    const { body, instanceId } = makePurchase({ orderId, orderLineId: `${orderId}-000001` });
    expect((await callV2(body)).json).toMatchObject({ resultCode: "000004", instanceId });

    // The background fetch is scheduled 5 s on; make it due and run the alarm instead of waiting.
    await makeOrderFetchDueAndRunAlarm(instanceId);

    const rows = await waitForOutbox(instanceId, allDelivered(1));
    expect(rows.map((row) => row.type)).toEqual(["instance.failed"]);
    expect(dataOf(rows, "instance.failed")).toMatchObject({ status: "failed", resultCode: "000005", reason: expect.stringContaining("order") });
    expect(await instanceRow(instanceId)).toMatchObject({ status: "failed", failure_code: "000005" });
    await expectDeliveredInOrder(instanceId, rows);
  });

  it("usage.rejected: a record the push job saw rejected reaches the seller, woken by the webhook sweep", async () => {
    const orderId = uniqueId("CS");
    await marketplaceOrders.set(orderId, makeOrder(orderId, { chargingMode: "ON_DEMAND" }));
    const { instanceId } = await buy({ orderId, orderLineId: `${orderId}-000001` });
    await waitForOutbox(instanceId, allDelivered(2));

    // One closed hour of usage, pending, as the roll-up writes it.
    const now = Date.now();
    const periodBegin = Math.floor(now / HOUR_MS) * HOUR_MS - HOUR_MS;
    const sn = `sn-${instanceId}`;
    await env.DB.prepare(
      `INSERT INTO usage_records (metering_sn, instance_id, product_id, period, period_begin, begin_time, end_time, cover_from,
        cover_to, usage_units, usage_value, event_count, late_units, correction_of, state, attempts, next_attempt_at, deadline,
        warn_at, rollup_token, created_at, updated_at)
       VALUES (?1, ?2, 'OFFI000000001', 'hourly', ?3, ?3, ?4, ?3, ?4, 30000, '3', 1, 0, NULL, 'pending', 0, ?5, ?6, ?6, 'test', ?5, ?5)`,
    )
      .bind(sn, instanceId, periodBegin, periodBegin + HOUR_MS, now - 1, periodBegin + 3 * HOUR_MS)
      .run();

    // The Marketplace rejects the record; every other call (the webhooks) goes on to the outbound service.
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      if (new URL(request.url).pathname === USAGE_PUSH_PATHS.new) return partialFailure([{ sn, code: "001", message: "instance does not exist" }]);
      return realFetch(request);
    });
    expect(await pushJob(env, now)).toMatchObject({ rejected: 1 });
    const [written] = (await outboxOf(instanceId)).filter((row) => row.type === "usage.rejected");
    expect(written).toMatchObject({ state: "pending", attempts: 0 });

    // Nobody told the actor: the sweep finds the overdue delivery and wakes it.
    expect(await deliverySweepJob(env, now + OVERDUE_AFTER_MS + 1)).toMatchObject({ streamsWoken: 1, wakeFailures: 0 });
    const rows = await waitForOutbox(instanceId, allDelivered(3));
    expect(rows.map((row) => row.type)).toEqual(["instance.created", "instance.provisioned", "usage.rejected"]);
    expect(dataOf(rows, "usage.rejected")).toEqual({
      meteringSn: sn,
      period: { begin: new Date(periodBegin).toISOString(), end: new Date(periodBegin + HOUR_MS).toISOString() },
      code: "001",
      message: "instance does not exist",
    });
    await expectDeliveredInOrder(instanceId, rows);
  });

  it("debug calls produce the same events with test: true", async () => {
    const { body, instanceId } = makePurchase({ testFlag: "1" });
    expect((await callV2(body)).json).toMatchObject({ resultCode: "000000", instanceId });
    expect((await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE", testFlag: "1" })).json.resultCode).toBe("000000");
    expect((await callV2({ activity: "releaseInstance", instanceId, testFlag: "1" })).json.resultCode).toBe("000000");

    const rows = await waitForOutbox(instanceId, allDelivered(4));
    expect(rows.map((row) => row.type)).toEqual(["instance.created", "instance.provisioned", "instance.frozen", "instance.released"]);
    const delivered = await expectDeliveredInOrder(instanceId, rows);
    for (const d of delivered) expect(d.event).toMatchObject({ test: true, instanceId, data: { test: true } });
    // A debug purchase never asks query order.
    expect(await marketplaceOrders.calls(body.orderId)).toBe(0);
  });
});
