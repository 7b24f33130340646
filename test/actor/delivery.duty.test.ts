import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliveryDuty } from "../../src/actor/duties/delivery.duty";
import { KV } from "../../src/actor/instance-scope";
import { eventRow, outboxStatements } from "../../src/events/outbox";
import { dutyHarness } from "../support/duty-scope";
import { uniqueId } from "../support/marketplace";

async function pendingEvent(stream: string, nextAttemptAt?: number): Promise<void> {
  const harness = dutyHarness();
  const row = eventRow({ type: "instance.created", instanceId: null, stream, test: true, data: { stream }, at: Date.now() }, true);
  await harness.scope.db.batch([outboxStatements.insertEvent(harness.scope.db, { ...row, ...(nextAttemptAt ? { nextAttemptAt } : {}) })]);
}

function deliveryStateOf(stream: string) {
  return env.DB.prepare("SELECT delivery_state FROM events WHERE stream = ?").bind(stream).first<{ delivery_state: string }>();
}

describe("the webhook delivery duty (no actor)", () => {
  it("is due when storage says so, delivers the stream's due events and then has nothing left", async () => {
    const { scope, storage } = dutyHarness();
    const stream = uniqueId("stream");
    await pendingEvent(stream);
    const now = Date.now();
    storage.set(KV.stream, stream);
    storage.set(KV.deliveryDueAt, now);
    expect(deliveryDuty.nextDue(scope)).toBe(now);
    await deliveryDuty.run(scope, now);
    expect((await deliveryStateOf(stream))?.delivery_state).toBe("delivered");
    expect(deliveryDuty.nextDue(scope)).toBeUndefined();
  });

  it("an event not due yet is left alone and sets the duty's next due time", async () => {
    const { scope, storage } = dutyHarness();
    const stream = uniqueId("stream");
    const later = Date.now() + 60_000;
    await pendingEvent(stream, later);
    storage.set(KV.stream, stream);
    storage.set(KV.deliveryDueAt, Date.now());
    await deliveryDuty.run(scope, Date.now());
    expect((await deliveryStateOf(stream))?.delivery_state).toBe("pending");
    expect(deliveryDuty.nextDue(scope)).toBe(later);
  });
});
