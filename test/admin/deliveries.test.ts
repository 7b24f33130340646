import { describe, expect, it } from "vitest";
import { DeliveryList, ResendAnswer } from "../../src/admin/admin-api.schema";
import { callV2, rowCounts } from "../support/marketplace";
import { sellerBackend } from "../support/seller-backend";
import { acknowledged, makeDueAndRunAlarm, makePurchase, outboxOf, runAlarm, waitForOutbox } from "../support/webhook-delivery";
import { adminActionsOf, adminGet, adminPost } from "../support/admin";

/** A purchase whose instance.created delivery failed for good (the seller's backend kept answering 500). */
async function failedDelivery() {
  const { body, instanceId } = makePurchase();
  await sellerBackend.failTimes(instanceId, 2);
  expect((await callV2(body)).json.resultCode).toBe("000000");
  await waitForOutbox(instanceId, (rows) => rows[0]?.attempts === 1);
  // Its 24 hours are over: the next failed attempt gives up.
  await makeDueAndRunAlarm(instanceId, { deliverBy: Date.now() - 1 });
  const rows = await waitForOutbox(instanceId, (rows) => rows[0]?.state === "failed" && rows[1]?.state === "delivered");
  expect(rows.map((row) => [row.type, row.state, row.attempts])).toEqual([
    ["instance.created", "failed", 2],
    ["instance.provisioned", "delivered", 1],
  ]);
  return { instanceId, eventId: rows[0]?.id ?? "", provisionedId: rows[1]?.id ?? "" };
}

describe("failed webhook deliveries", () => {
  it("are listed, and a resend goes back to pending with a fresh budget and reaches the seller's backend", async () => {
    const { instanceId, eventId } = await failedDelivery();
    const failed = DeliveryList.parse((await adminGet("/admin/api/deliveries?state=failed&limit=500")).json);
    expect(failed.deliveries.find((delivery) => delivery.eventId === eventId)).toMatchObject({ instanceId, type: "instance.created", deliveryState: "failed", attempts: 2, lastStatus: 500 });

    const answer = await adminPost(`/admin/api/deliveries/${eventId}/resend`);
    expect(answer.status, answer.text).toBe(200);
    expect(ResendAnswer.parse(answer.json).delivery).toMatchObject({ eventId, deliveryState: "pending", attempts: 0, stream: instanceId });
    expect((await adminActionsOf(eventId)).map((row) => [row.actor, row.action])).toEqual([["admin", "resendDelivery"]]);

    // The kick armed the actor's alarm; run it now rather than wait.
    await runAlarm(instanceId);
    const rows = await waitForOutbox(instanceId, (rows) => rows[0]?.state === "delivered");
    expect(rows[0]).toMatchObject({ id: eventId, state: "delivered", attempts: 1, lastStatus: 200 });
    const seen = (await acknowledged(instanceId)).map((delivery) => delivery.type);
    expect(seen).toEqual(["instance.provisioned", "instance.created"]);
    expect(DeliveryList.parse((await adminGet("/admin/api/deliveries?state=failed&limit=500")).json).deliveries.map((d) => d.eventId)).not.toContain(eventId);
  });

  it("409 for a delivery that has not failed, 404 for an unknown event; nothing changes", async () => {
    const { instanceId, provisionedId } = await failedDelivery();
    const before = await outboxOf(instanceId);
    const counts = await rowCounts(["events", "admin_actions"]);
    expect(await adminPost(`/admin/api/deliveries/${provisionedId}/resend`)).toMatchObject({ status: 409, json: { error: `delivery of ${provisionedId} is delivered, not failed` } });
    expect((await adminPost("/admin/api/deliveries/evt_unknown/resend")).status).toBe(404);
    expect(await outboxOf(instanceId)).toEqual(before);
    expect(await rowCounts(["events", "admin_actions"])).toEqual(counts);
  });

  it("400 for an unknown list state", async () => {
    expect((await adminGet("/admin/api/deliveries?state=delivered")).status).toBe(400);
  });
});
