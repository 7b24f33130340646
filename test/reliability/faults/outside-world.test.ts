import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type InstanceActor, ORDER_FIRST_TIMEOUT_MS, getInstanceActor } from "../../../src/actor/instance.actor";
import { getDb } from "../../../src/db/client";
import { listAuditEvents } from "../../../src/instances/instance.repo";
import { settleBackgroundWork } from "../../support/background-work";
import { controlOrders, runDueOrderFetches } from "../../support/lifecycle";
import { type MarketplaceAnswer, callV2 } from "../../support/marketplace";
import { sellerBackend } from "../../support/seller-backend";
import { acknowledged, allDelivered, makeDueAndRunAlarm, makePurchase, outboxOf } from "../../support/webhook-delivery";
import { PROPERTY_TIMEOUT_MS } from "../support/profile";
import { type StormCall, checkInstance } from "../support/serial-history";
import { intendedCrash } from "../../support/crash";

/*
 * The outside world failing, hanging and recovering (the outbound test service: query order of the fake
 * Marketplace, and the fake seller backend), and the instance actor reset in the middle of its work. Afterwards
 * nothing is lost and nothing applied or delivered twice.
 */

/** Each event of the instance acknowledged by the seller's backend exactly once, in commit order. */
async function expectEachAcknowledgedOnce(instanceId: string, count: number): Promise<void> {
  let rows = await outboxOf(instanceId);
  for (let round = 0; round < 20 && !allDelivered(count)(rows); round++) {
    await makeDueAndRunAlarm(instanceId);
    await settleBackgroundWork(2_000);
    rows = await outboxOf(instanceId);
  }
  expect(rows.map((row) => row.state)).toEqual(Array(count).fill("delivered"));
  const acks = await acknowledged(instanceId);
  expect(acks.map((d) => d.webhookId)).toEqual(rows.map((row) => row.id));
}

async function provisionedOnce(instanceId: string, body: Record<string, unknown>): Promise<MarketplaceAnswer> {
  let answer = await callV2(body);
  for (let round = 0; round < 10 && answer.json.resultCode !== "000000"; round++) {
    expect(answer.json.resultCode, answer.text).toBe("000004");
    await runDueOrderFetches(instanceId).catch(() => false);
    answer = await callV2({ ...body, businessId: crypto.randomUUID() });
  }
  expect(answer.json.resultCode, answer.text).toBe("000000");
  const audit = await listAuditEvents(getDb(env), instanceId);
  expect(audit.map((row) => row.event)).toEqual(["newInstance", "orderFetched"]);
  const events = await outboxOf(instanceId);
  expect(events.map((row) => row.type)).toEqual(["instance.created", "instance.provisioned"]);
  return answer;
}

describe("the fake Marketplace failing, hanging and recovering", () => {
  it("query order failing several times: the purchase waits (000004), then is provisioned once", async () => {
    const { body, instanceId } = makePurchase();
    await controlOrders({ failOrders: { [body.orderId]: 3 } });
    const first = await callV2(body);
    expect(first.json.resultCode).toBe("000004");
    // Repeats while the Marketplace is down: still waiting, nothing applied twice.
    expect((await callV2({ ...body, businessId: crypto.randomUUID() })).json.resultCode).toBe("000004");
    await provisionedOnce(instanceId, body);
    await expectEachAcknowledgedOnce(instanceId, 2);
  });

  it("query order hanging past the create's budget: answered 000004 in time, provisioned once when it answers", async () => {
    const { body, instanceId } = makePurchase();
    await controlOrders({ slowOrders: { [body.orderId]: ORDER_FIRST_TIMEOUT_MS + 1_500 } });
    const first = await callV2(body);
    expect(first.json.resultCode).toBe("000004");
    await provisionedOnce(instanceId, body);
    await expectEachAcknowledgedOnce(instanceId, 2);
  });
});

describe("the fake seller backend failing, hanging and recovering", () => {
  it(
    "two errors, a hang past the 10 s timeout, a 503, then recovery: every event acknowledged exactly once, in order",
    async () => {
      const { body, instanceId } = makePurchase();
      await sellerBackend.failTimes(instanceId, 2);
      await sellerBackend.answer(instanceId, { kind: "hang" }, { times: 1 });
      await sellerBackend.answer(instanceId, { kind: "error", status: 503 }, { times: 1 });
      expect((await callV2(body)).json.resultCode).toBe("000000");
      expect((await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" })).json.resultCode).toBe("000000");
      expect((await callV2({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" })).json.resultCode).toBe("000000");
      await expectEachAcknowledgedOnce(instanceId, 4);
      const seen = await sellerBackend.deliveries(instanceId);
      // The failures happened, and only on the stream's head (the next waits for it).
      expect(seen.filter((d) => d.status === null || d.status >= 300).length).toBeGreaterThanOrEqual(3);
      expect((await acknowledged(instanceId)).map((d) => d.type)).toEqual(["instance.created", "instance.provisioned", "instance.frozen", "instance.unfrozen"]);
    },
    PROPERTY_TIMEOUT_MS,
  );
});

describe("the instance actor reset in the middle of its work", () => {
  it(
    "aborted while 30 status changes and renewals are in flight: retried calls apply once each, one serial history",
    async () => {
      const { body, instanceId } = makePurchase();
      const create = await callV2(body);
      expect(create.json.resultCode).toBe("000000");
      const calls: Array<Omit<StormCall, "send"> & { body: Record<string, unknown> }> = [];
      for (let i = 0; i < 30; i++) {
        if (i % 10 === 5) {
          const orderId = `${body.orderId}R${i}`;
          calls.push({ orderId: body.orderId, dialect: "v2", kind: "renew", renewalOrderId: orderId, body: { activity: "refreshInstance", scene: "RENEWAL", orderId, orderLineId: `${orderId}-000001`, instanceId, expireTime: "20301231235959" } });
        } else {
          const freeze = i % 2 === 0;
          calls.push({ orderId: body.orderId, dialect: "v2", kind: freeze ? "freeze" : "unfreeze", body: { activity: "updateInstanceStatus", instanceId, status: freeze ? "FREEZE" : "UNFREEZE" } });
        }
      }
      const inFlight = Promise.all(calls.map((call) => callV2(call.body).catch((error: unknown) => ({ crashed: String(error) }))));
      // Reset the object while the calls queue on it: its memory is gone, its storage and D1 stay.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await runInDurableObject(getInstanceActor(env, instanceId), (_actor: InstanceActor, state) => state.abort(intendedCrash("reset mid-operation"))).catch(() => undefined);
      const firstAnswers = await inFlight;
      // The Marketplace retries whatever was not answered success.
      const answers: MarketplaceAnswer[] = [];
      for (const [index, call] of calls.entries()) {
        const first = firstAnswers[index];
        const done = first && "json" in first && first.json.resultCode === "000000";
        answers.push(done ? (first as MarketplaceAnswer) : await callV2(call.body));
      }
      await settleBackgroundWork(5_000);
      const createCall = { orderId: body.orderId, dialect: "v2" as const, kind: "create" as const, send: () => Promise.resolve(create), answer: create };
      await checkInstance(instanceId, [createCall, ...calls.map((call, index) => ({ ...call, send: () => Promise.resolve(answers[index] as MarketplaceAnswer), answer: answers[index] as MarketplaceAnswer }))]);
      // Every retried call ended in success: the reset lost no call for good.
      expect(answers.map((a) => a.json.resultCode)).toEqual(Array(calls.length).fill("000000"));
    },
    PROPERTY_TIMEOUT_MS,
  );
});
