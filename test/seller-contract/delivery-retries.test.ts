import { describe, expect, it } from "vitest";
import { retryDelayMs } from "../../src/events/delivery";
import { callV2 } from "../support/marketplace";
import { sellerBackend } from "../support/seller-backend";
import { allDelivered, deliveriesOf, makeDueAndRunAlarm, makePurchase, outboxOf, waitForOutbox } from "../support/webhook-delivery";

/*
 * A seller backend that fails, then recovers: each event is acknowledged exactly once, none is lost, and events behind
 * a failing one wait for it. Retry time is moved forward in D1 and the actor's alarm run, instead of sleeping.
 */

describe("webhook retries", () => {
  it("fails twice, then recovers: each event acknowledged once, in order, the later ones waiting behind the first", async () => {
    const { body, instanceId } = makePurchase();
    await sellerBackend.failTimes(instanceId, 2);
    const bought = await callV2(body);
    expect(bought.json).toMatchObject({ resultCode: "000000", instanceId });

    // First attempt of instance.created fails; it waits for its retry, and instance.provisioned waits behind it.
    const afterFirst = await waitForOutbox(instanceId, (rows) => rows[0]?.attempts === 1);
    expect(afterFirst.map((row) => [row.type, row.state, row.attempts, row.lastStatus])).toEqual([
      ["instance.created", "pending", 1, 500],
      ["instance.provisioned", "pending", 0, null],
    ]);
    // First retry 30 s after the failed attempt (docs/seller-contract.md: within 30 s, then doubling).
    expect((afterFirst[0]?.nextAttemptAt ?? 0) - (afterFirst[0]?.updatedAt ?? 0)).toBe(retryDelayMs(1));
    expect(retryDelayMs(1)).toBeLessThanOrEqual(30_000);

    // A change while the stream is blocked: its event joins the queue, not the wire.
    expect((await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" })).json.resultCode).toBe("000000");
    expect((await deliveriesOf(instanceId)).map((d) => [d.type, d.attempt, d.status])).toEqual([["instance.created", 1, 500]]);

    await makeDueAndRunAlarm(instanceId);
    const afterSecond = await waitForOutbox(instanceId, (rows) => rows[0]?.attempts === 2);
    expect(afterSecond.map((row) => [row.type, row.state, row.attempts])).toEqual([
      ["instance.created", "pending", 2],
      ["instance.provisioned", "pending", 0],
      ["instance.frozen", "pending", 0],
    ]);
    // The gap doubles.
    expect((afterSecond[0]?.nextAttemptAt ?? 0) - (afterSecond[0]?.updatedAt ?? 0)).toBe(2 * retryDelayMs(1));

    await makeDueAndRunAlarm(instanceId);
    const rows = await waitForOutbox(instanceId, allDelivered(3));
    expect(rows.map((row) => [row.type, row.state, row.attempts, row.lastStatus])).toEqual([
      ["instance.created", "delivered", 3, 200],
      ["instance.provisioned", "delivered", 1, 200],
      ["instance.frozen", "delivered", 1, 200],
    ]);

    const seen = await deliveriesOf(instanceId);
    expect(seen.map((d) => [d.type, d.attempt, d.status, d.verified])).toEqual([
      ["instance.created", 1, 500, true],
      ["instance.created", 2, 500, true],
      ["instance.created", 3, 200, true],
      ["instance.provisioned", 1, 200, true],
      ["instance.frozen", 1, 200, true],
    ]);
    // Every retry of an event carries the same webhook-id and the same body.
    const created = seen.filter((d) => d.type === "instance.created");
    expect(new Set(created.map((d) => d.webhookId)).size).toBe(1);
    expect(new Set(created.map((d) => JSON.stringify(d.event))).size).toBe(1);
    expect(created[0]?.webhookId).toBe(rows[0]?.id);
  });

  it("a backend that never recovers within 24 hours: the delivery is marked failed and the next event goes out", async () => {
    const { body, instanceId } = makePurchase();
    await sellerBackend.answer(instanceId, { kind: "error", status: 503 }, { types: ["instance.created"] });
    expect((await callV2(body)).json.resultCode).toBe("000000");
    await waitForOutbox(instanceId, (rows) => rows[0]?.attempts === 1);

    // Past the 24-hour window (deliver_by stands in for created_at + 24 h): the next failure is the last.
    await makeDueAndRunAlarm(instanceId, { deliverBy: Date.now() - 1 });
    const rows = await waitForOutbox(instanceId, (r) => r[0]?.state === "failed" && r[1]?.state === "delivered");
    expect(rows.map((row) => [row.type, row.state, row.attempts, row.lastStatus])).toEqual([
      ["instance.created", "failed", 2, 503],
      ["instance.provisioned", "delivered", 1, 200],
    ]);
    // A builtin purchase is not undone by its webhook: the instance stays active.
    expect((await callV2({ activity: "queryInstance", instanceId })).json.resultCode).toBe("000000");
    expect((await outboxOf(instanceId)).length).toBe(2);
  });
});
