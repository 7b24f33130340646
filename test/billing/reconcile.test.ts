import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { HOUR_MS } from "../../src/billing/periods";
import { pushJob } from "../../src/billing/push.job";
import { EXPIRY_ACTIVITY, EXPIRY_GRACE_MS, reconcileJob } from "../../src/billing/reconcile.job";
import { rollupJob } from "../../src/billing/rollup.job";
import worker from "../../src/index";
import { formatCompactUtc } from "../../src/protocol/time-formats";
import { instanceRow } from "../support/marketplace";
import {
  callLifecycle,
  createPayPerUseInstance,
  ingest,
  MINUTE,
  partialFailure,
  recordsOf,
  setClock,
  startDay,
  startDayWithInstance,
  useFakeMarketplace,
} from "../support/billing";

const fake = useFakeMarketplace();

describe("expiry without a callback", () => {
  it("freezes an instance past its expiry through its actor, records why, and does it once", async () => {
    const { day } = startDay();
    const expireAt = day + 5 * HOUR_MS;
    const expired = await createPayPerUseInstance(fake(), { chargingMode: "PERIOD", expireTime: formatCompactUtc(expireAt) });
    const notYet = await createPayPerUseInstance(fake(), { chargingMode: "PERIOD", expireTime: formatCompactUtc(expireAt + 2 * HOUR_MS) });
    expect(await instanceRow(expired.instanceId)).toMatchObject({ status: "active", expire_at: expireAt });

    // Within the grace the Marketplace's own freeze may still come.
    const early = await reconcileJob(env, expireAt + EXPIRY_GRACE_MS - 1);
    expect(early).toMatchObject({ frozen: 0 });
    const now = expireAt + EXPIRY_GRACE_MS + 7 * MINUTE;
    setClock(now);
    expect(await reconcileJob(env, now)).toMatchObject({ frozen: 1, freezeFailed: 0 });

    expect(await instanceRow(expired.instanceId)).toMatchObject({ status: "frozen", frozen_at: now });
    expect(await instanceRow(notYet.instanceId)).toMatchObject({ status: "active" });
    const inbox = await env.DB.prepare("SELECT activity, request, result_code FROM inbox WHERE instance_id = ? AND activity = ?").bind(expired.instanceId, EXPIRY_ACTIVITY).first<{ request: string; result_code: string }>();
    expect(inbox?.result_code).toBe("000000");
    expect(JSON.parse(inbox?.request ?? "{}")).toMatchObject({ activity: EXPIRY_ACTIVITY, reason: expect.stringContaining("no freeze callback came") });
    const audit = await env.DB.prepare("SELECT event, from_status, to_status FROM audit_events WHERE instance_id = ? ORDER BY seq DESC LIMIT 1").bind(expired.instanceId).first();
    expect(audit).toEqual({ event: EXPIRY_ACTIVITY, from_status: "active", to_status: "frozen" });

    expect(await reconcileJob(env, now + HOUR_MS)).toMatchObject({ frozen: 0 });
    // Frozen now: the seller's usage is refused from here on.
    const refused = await ingest([{ instanceId: expired.instanceId, quantity: 1, time: now }], now + MINUTE);
    expect(refused.rejected).toMatchObject([{ code: "instance_frozen" }]);
  });
});

describe("ledger gaps and record health", () => {
  it("rolls up hours the roll-up missed, and reports events that can get no record", async () => {
    const { h10 } = startDay();
    const skipped = await createPayPerUseInstance(fake());
    const released = await createPayPerUseInstance(fake());
    await ingest(
      [
        { instanceId: skipped.instanceId, quantity: 2, time: h10 + 30 * MINUTE },
        { instanceId: released.instanceId, quantity: 1, time: h10 + 5 * MINUTE },
      ],
      h10 + 31 * MINUTE,
    );
    setClock(h10 + 40 * MINUTE);
    await callLifecycle({ activity: "releaseInstance", instanceId: released.instanceId });
    await rollupJob(env, h10 + 45 * MINUTE);
    // Test-only: an event stored after the final record of a released instance, as a request racing the release
    // could do; ingestion itself refuses events of released instances, so there is no public way to make one.
    await env.DB.prepare("INSERT INTO usage_events (event_id, instance_id, quantity_units, event_time, received_at) VALUES (?, ?, 10000, ?, ?)")
      .bind(`race-${released.instanceId}`, released.instanceId, h10 + 39 * MINUTE, h10 + 46 * MINUTE)
      .run();

    // No roll-up ran for 11:00; reconciliation at 11:07 makes the missing record.
    const counts = await reconcileJob(env, h10 + HOUR_MS + 7 * MINUTE);
    expect(counts).toMatchObject({ recordsCreated: 1 });
    expect(await recordsOf(skipped.instanceId)).toMatchObject([{ period_begin: h10, usage_value: "2" }]);
    const later = await reconcileJob(env, h10 + 2 * HOUR_MS + 7 * MINUTE);
    expect(later).toMatchObject({ recordsCreated: 0, gapEvents: 1, gapInstances: 1 });
  });

  it("counts rejected records by their code, expired ones, and those at risk", async () => {
    const { h10 } = startDay();
    const a = await createPayPerUseInstance(fake());
    const b = await createPayPerUseInstance(fake());
    const c = await createPayPerUseInstance(fake());
    await ingest(
      [a, b, c].map(({ instanceId }) => ({ instanceId, quantity: 1, time: h10 + 10 * MINUTE })),
      h10 + 11 * MINUTE,
    );
    await rollupJob(env, h10 + HOUR_MS + 5 * MINUTE);
    const [ra] = await recordsOf(a.instanceId);
    const [rb] = await recordsOf(b.instanceId);
    fake().onPush = () =>
      partialFailure([
        { sn: ra?.metering_sn ?? "", code: "013", message: "instance resource status abnormal" },
        { sn: rb?.metering_sn ?? "", code: "003", message: "usage value abnormal" },
      ]);
    await pushJob(env, h10 + HOUR_MS + 5 * MINUTE);
    const counts = await reconcileJob(env, h10 + HOUR_MS + 7 * MINUTE);
    expect(counts).toMatchObject({ rejected: 2, "rejected:013": 1, "rejected:003": 1, atRisk: 0, expired: 0 });
    // Kept with their code and message for the operator.
    expect(await recordsOf(a.instanceId)).toMatchObject([{ state: "rejected", reject_code: "013", reject_message: "instance resource status abnormal" }]);
    expect(await recordsOf(c.instanceId)).toMatchObject([{ state: "accepted" }]);
  });

  it("counts records still unconfirmed past 75% of their window, and expired ones", async () => {
    const { h10, instanceId } = await startDayWithInstance(fake());
    await ingest([{ instanceId, quantity: 1, time: h10 + 10 * MINUTE }], h10 + 11 * MINUTE);
    await rollupJob(env, h10 + HOUR_MS + 5 * MINUTE);
    const warnings = vi.spyOn(console, "warn");
    expect(await reconcileJob(env, h10 + HOUR_MS + 91 * MINUTE)).toMatchObject({ atRisk: 1 });
    expect(warnings.mock.calls.some(([line]) => String(line).includes("usage.deadline_at_risk"))).toBe(true);
    await pushJob(env, h10 + 3 * HOUR_MS);
    expect(await reconcileJob(env, h10 + 3 * HOUR_MS + 7 * MINUTE)).toMatchObject({ atRisk: 0, expired: 1, expiredUnconfirmed: 0 });
  });
});

describe("order truth", () => {
  it("counts billed instances whose latest order line disagrees with ours, or is not pay-per-use", async () => {
    const { h10 } = startDay();
    const agreeing = await createPayPerUseInstance(fake());
    const drifted = await createPayPerUseInstance(fake());
    await ingest(
      [agreeing, drifted].map(({ instanceId }) => ({ instanceId, quantity: 1, time: h10 + 10 * MINUTE })),
      h10 + 11 * MINUTE,
    );
    await rollupJob(env, h10 + HOUR_MS + 5 * MINUTE);
    expect(await reconcileJob(env, h10 + HOUR_MS + 7 * MINUTE)).toMatchObject({ orderMismatches: 0, billedNotPayPerUse: 0 });
    // Test-only: the stored order truth changes under us, as a later query order (upgrade, correction) could make
    // it; the actor has no public path that updates the order row without also updating the instance.
    await env.DB.prepare("UPDATE orders SET charging_mode = 'PERIOD', product_id = 'prod-other' WHERE instance_id = ?").bind(drifted.instanceId).run();
    expect(await reconcileJob(env, h10 + HOUR_MS + 67 * MINUTE)).toMatchObject({ orderMismatches: 1, billedNotPayPerUse: 1 });
  });
});

describe("scheduling", () => {
  it("runs roll-up and push on */5 and reconciliation on 7 * * * *, each recorded in job_runs and shown by /healthz", async () => {
    const { h10, instanceId } = await startDayWithInstance(fake());
    await ingest([{ instanceId, quantity: "4.5", time: h10 + 10 * MINUTE }], h10 + 11 * MINUTE);

    const fire = async (cron: string, time: number) => {
      setClock(time);
      const controller = createScheduledController({ cron, scheduledTime: time });
      const ctx = createExecutionContext();
      await worker.scheduled(controller, env);
      await waitOnExecutionContext(ctx);
    };
    await fire("*/5 * * * *", h10 + HOUR_MS + 5 * MINUTE);
    await fire("7 * * * *", h10 + HOUR_MS + 7 * MINUTE);

    expect(await recordsOf(instanceId)).toMatchObject([{ state: "accepted", usage_value: "4.5" }]);
    const runs = await env.DB.prepare("SELECT job, started_at, status, counts FROM job_runs WHERE started_at >= ? ORDER BY id").bind(h10).all<{ job: string; started_at: number; status: string; counts: string }>();
    expect(runs.results.map((r) => [r.job, r.started_at, r.status])).toEqual([
      ["usageRollup", h10 + HOUR_MS + 5 * MINUTE, "ok"],
      ["usagePush", h10 + HOUR_MS + 5 * MINUTE, "ok"],
      ["webhookSweep", h10 + HOUR_MS + 5 * MINUTE, "ok"],
      ["licenseUsageReport", h10 + HOUR_MS + 5 * MINUTE, "ok"],
      ["usageReconcile", h10 + HOUR_MS + 7 * MINUTE, "ok"],
      // The hourly self-check shares the cron; its run is made whatever it finds.
      ["selfCheck", h10 + HOUR_MS + 7 * MINUTE, "ok"],
    ]);
    expect(JSON.parse(runs.results[1]?.counts ?? "{}")).toMatchObject({ accepted: 1 });

    const health = await exports.default.fetch("http://gateway.test/admin/api/health", { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } });
    const details = (await health.json()) as { jobs: Record<string, { lastRun: { status: string } | null }> };
    expect(details.jobs).toMatchObject({ usageRollup: { lastRun: { status: "ok" } }, usagePush: { lastRun: { status: "ok" } }, usageReconcile: { lastRun: { status: "ok" } } });
  });
});
