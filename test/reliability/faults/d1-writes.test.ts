import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { parseQuantity } from "../../../src/billing/quantity";
import { rollupJob } from "../../../src/billing/rollup.job";
import { getDb } from "../../../src/db/client";
import { auditKeyOf, verifyAuditChain } from "../../../src/instances/audit-chain";
import { createKeyOf, instanceIdFor } from "../../../src/instances/instance-id";
import { listAuditEvents } from "../../../src/instances/instance.repo";
import { settleBackgroundWork } from "../../support/background-work";
import { controlOrders, runDueOrderFetches } from "../../support/lifecycle";
import { type MarketplaceAnswer, callV2, uniqueId } from "../../support/marketplace";
import { queryOrderInfo } from "../../support/orders";
import { sellerCall } from "../../support/seller-api";
import { d1Faults, resetD1Faults, withFaultyD1 } from "../support/faulty-d1";
import { PROPERTY_TIMEOUT_MS } from "../support/profile";

/*
 * D1 errors injected at each write. This project runs the Worker behind test/reliability/support/faulty-d1.entry.ts,
 * whose DB binding (the Worker's and every instance actor's) fails the n-th write from the last reset. For each step
 * of a lifecycle, and each n up to that step's number of writes, a fresh purchase runs the lifecycle with that one
 * write failing, then the Marketplace retries the step. Afterwards: every step applied exactly once (audit chain,
 * outbox, state), nothing lost. The same for usage: ingestion and roll-up retried after a failed write bill each
 * event exactly once.
 */

afterEach(() => resetD1Faults(null));

type Step = { name: string; body: (instanceId: string, order: string) => Record<string, unknown> };

const STEPS: Step[] = [
  { name: "create", body: (_id, orderId) => ({ activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: crypto.randomUUID() }) },
  { name: "freeze", body: (instanceId) => ({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" }) },
  { name: "renew", body: (instanceId, orderId) => ({ activity: "refreshInstance", scene: "RENEWAL", orderId: `${orderId}R`, orderLineId: `${orderId}R-000001`, instanceId, expireTime: "20301231235959" }) },
  { name: "unfreeze", body: (instanceId) => ({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" }) },
  { name: "release", body: (instanceId) => ({ activity: "releaseInstance", instanceId }) },
];

const EXPECTED_AUDIT = ["newInstance", "updateInstanceStatus", "refreshInstance", "updateInstanceStatus", "releaseInstance"];
const EXPECTED_EVENTS = ["instance.created", "instance.provisioned", "instance.frozen", "instance.renewed", "instance.unfrozen", "instance.released"];

/** The Marketplace's retries: the same call again (new nonce) until it is answered success, a few times at most. */
async function untilSuccess(instanceId: string, body: Record<string, unknown>): Promise<MarketplaceAnswer> {
  let answer = await callV2(body);
  for (let attempt = 0; attempt < 5 && answer.json.resultCode !== "000000"; attempt++) {
    // A create answered 000004 waits for its order: its fetch is retried by the actor's alarm.
    await settleBackgroundWork(2_000);
    if (body.activity === "newInstance") await runDueOrderFetches(instanceId).catch(() => false);
    answer = await callV2(body);
  }
  return answer;
}

/** Runs the lifecycle with the `failAt`-th write of step `faulty` failing; returns whether a fault was injected. */
async function lifecycleWithFault(faulty: number, failAt: number): Promise<{ injected: string[]; instanceId: string; firstAnswer: string }> {
  const orderId = uniqueId("DF");
  const instanceId = instanceIdFor(createKeyOf(orderId, { orderLineId: `${orderId}-000001` }, false));
  let injected: string[] = [];
  let firstAnswer = "";
  for (const [index, step] of STEPS.entries()) {
    const body = step.body(instanceId, orderId);
    if (index === faulty) {
      await settleBackgroundWork(2_000);
      resetD1Faults(failAt);
      firstAnswer = (await callV2(body)).text;
      injected = [...d1Faults().injected];
      resetD1Faults(null);
    }
    const answer = await untilSuccess(instanceId, body);
    expect(answer.json.resultCode, `${step.name} after a fault at write ${failAt} of ${STEPS[faulty]?.name}: ${answer.text}`).toBe("000000");
  }
  await settleBackgroundWork(5_000);
  return { injected, instanceId, firstAnswer };
}

async function expectAppliedOnce(instanceId: string, context: string): Promise<void> {
  const audit = await listAuditEvents(getDb(env), instanceId);
  expect(audit.map((row) => row.event), context).toEqual(EXPECTED_AUDIT);
  expect(verifyAuditChain(auditKeyOf(env.DATA_KEY), audit).ok, context).toBe(true);
  const row = await env.DB.prepare("SELECT status, version FROM instances WHERE id = ?").bind(instanceId).first<{ status: string; version: number }>();
  expect(row, context).toEqual({ status: "released", version: EXPECTED_AUDIT.length });
  const events = await env.DB.prepare("SELECT id, type FROM events WHERE instance_id = ? ORDER BY seq").bind(instanceId).all<{ id: string; type: string }>();
  expect(events.results.map((e) => e.type), context).toEqual(EXPECTED_EVENTS);
  const inbox = await env.DB.prepare("SELECT activity FROM inbox WHERE instance_id = ? ORDER BY id").bind(instanceId).all<{ activity: string }>();
  expect(inbox.results.map((e) => e.activity), context).toEqual(EXPECTED_AUDIT);
}

describe("D1 errors injected at each write", () => {
  it(
    "a lifecycle (create, freeze, renew, unfreeze, release) whose step fails at any one write, then is retried, applies every step exactly once",
    async () => {
      let faultsInjected = 0;
      const failedWrites = new Set<string>();
      for (const [faulty, step] of STEPS.entries()) {
        for (let failAt = 1; failAt <= 12; failAt++) {
          const { injected, instanceId, firstAnswer } = await lifecycleWithFault(faulty, failAt);
          const context = `${step.name}, write ${failAt} failed (${injected.join(" | ") || "none"}); first answer ${firstAnswer}`;
          await expectAppliedOnce(instanceId, context);
          // The failed call answered something the Marketplace retries or takes as done: never a success it did not apply.
          if (injected.length === 0) break;
          faultsInjected += 1;
          for (const sql of injected) failedWrites.add(sql.replace(/\s+/g, " ").slice(0, 40));
        }
      }
      // Every step writes D1 at least once (its batch; a V2 call's nonce is kept in the actor's own storage), so every
      // step had a fault injected.
      expect(faultsInjected).toBeGreaterThanOrEqual(STEPS.length);
      // The actors' batches failed, not only the Worker's own writes: the entry wraps both bindings.
      const written = [...failedWrites].join("\n");
      expect(written).toMatch(/instances|inbox|audit_events/);
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    "usage ingestion and roll-up that fail at any one write, then are retried, bill every event exactly once",
    async () => {
      const injected = { ingest: 0, rollup: 0 };
      for (let failAt = 1; failAt <= 10; failAt++) {
        const orderId = uniqueId("DU");
        await controlOrders({ orders: { [orderId]: queryOrderInfo(orderId, [{ chargingMode: "ON_DEMAND", productId: "OFFIPPU0001" }]) } });
        const created = await untilSuccess(instanceIdFor(createKeyOf(orderId, { orderLineId: `${orderId}-000001` }, false)), {
          activity: "newInstance",
          orderId,
          orderLineId: `${orderId}-000001`,
          businessId: crypto.randomUUID(),
        });
        const instanceId = String(created.json.instanceId);
        const time = Date.now() + 1_000;
        const batch = { events: Array.from({ length: 5 }, (_, i) => ({ eventId: `${orderId}-E${i}`, instanceId, quantity: i + 1, time: new Date(time).toISOString() })) };
        const expected = batch.events.reduce((sum, e) => sum + e.quantity, 0);
        const units = (quantity: number) => {
          const parsed = parseQuantity(quantity);
          if (!parsed.ok) throw new Error(parsed.problem);
          return parsed.units;
        };

        resetD1Faults(failAt);
        const first = await sellerCall("/api/v1/usage", { body: batch });
        const ingestFault = d1Faults().injected.length;
        resetD1Faults(null);
        // The seller's product retries a batch that was not acknowledged; the event ids make it idempotent.
        const retry = await sellerCall("/api/v1/usage", { body: batch });
        expect(retry.status, JSON.stringify(retry.json)).toBe(200);
        const stored = await env.DB.prepare("SELECT COUNT(*) AS n, SUM(quantity_units) AS total FROM usage_events WHERE instance_id = ?").bind(instanceId).first<{ n: number; total: number }>();
        expect(stored, `ingest, write ${failAt} failed (${ingestFault}), first answer ${first.status}, retry ${JSON.stringify(retry.json)}`).toEqual({ n: 5, total: units(expected) });

        // The roll-up two hours later, with the same write failing, then the next run.
        const later = Date.now() + 2 * 3_600_000;
        resetD1Faults(failAt);
        await rollupJob(withFaultyD1(env), later).catch(() => undefined);
        const rollupFault = d1Faults().injected.length;
        resetD1Faults(null);
        await rollupJob(env, later + 60_000);
        await rollupJob(env, later + 120_000);
        const records = await env.DB.prepare("SELECT metering_sn, usage_units, usage_value, event_count FROM usage_records WHERE instance_id = ?")
          .bind(instanceId)
          .all<{ metering_sn: string; usage_units: number; usage_value: string; event_count: number }>();
        expect(new Set(records.results.map((r) => r.metering_sn)).size, `roll-up, write ${failAt} failed`).toBe(records.results.length);
        expect(records.results.reduce((sum, r) => sum + r.event_count, 0), `roll-up, write ${failAt} failed: ${JSON.stringify(records.results)}`).toBe(5);
        expect(records.results.reduce((sum, r) => sum + r.usage_units, 0), `roll-up, write ${failAt} failed: ${JSON.stringify(records.results)}`).toBe(units(expected));
        injected.ingest += ingestFault;
        injected.rollup += rollupFault;
        if (ingestFault === 0 && rollupFault === 0) break;
      }
      expect(injected.ingest).toBeGreaterThan(0);
      expect(injected.rollup).toBeGreaterThan(0);
    },
    PROPERTY_TIMEOUT_MS,
  );
});
