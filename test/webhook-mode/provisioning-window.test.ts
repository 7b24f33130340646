import { describe, expect, it } from "vitest";
import { PROVISIONING_WINDOW_MS } from "../../src/instances/provisioning-window";
import { agePurchase, eventsOf, runAlarmNow, stateOf } from "../support/lifecycle";
import { callV2 } from "../support/marketplace";
import { sellerCall } from "../support/seller-api";
import { sellerBackend } from "../support/seller-backend";
import { makeDueAndRunAlarm, makePurchase, outboxOf, waitForOutbox } from "../support/webhook-delivery";

/*
 * Issue 19 item 3 in webhook mode: the seller's backend has the Marketplace's 3-hour window to provision a purchase,
 * counted from its first newInstance. At its end the purchase fails (instance.failed) even when the backend had
 * answered 202, and a provisioning result that comes later changes nothing.
 */

describe("the Marketplace's 3-hour window, webhook mode", () => {
  it("202 and no POST …/provisioned within the window: failed with instance.failed; a late POST is refused", async () => {
    const { body, instanceId } = makePurchase();
    await sellerBackend.answer(instanceId, { kind: "accept" }, { types: ["instance.created"] });
    expect((await callV2(body)).json).toMatchObject({ resultCode: "000004", instanceId });
    await waitForOutbox(instanceId, (rows) => rows[0]?.state === "delivered");

    await agePurchase(instanceId, PROVISIONING_WINDOW_MS);
    await runAlarmNow(instanceId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "failed", failure_code: "000005" });
    const failed = (await eventsOf(instanceId)).find((e) => e.type === "instance.failed");
    expect(failed?.data).toMatchObject({ resultCode: "000005", reason: expect.stringContaining("3-hour window") });

    const late = await sellerCall(`/api/v1/instances/${instanceId}/provisioned`, { method: "POST", body: { frontEndUrl: `https://tenant.seller.example/${instanceId}` } });
    expect(late.status).toBe(409);
    expect(await stateOf(instanceId)).toMatchObject({ status: "failed", frontend_url: null });
    expect((await callV2({ activity: "queryInstance", instanceId })).json.resultCode).toBe("000005");
    expect((await eventsOf(instanceId)).map((e) => e.type)).toEqual(["instance.created", "instance.failed"]);
  });

  it("a backend that answers 200 with the buyer's way in only after the window provisions nothing", async () => {
    const { body, instanceId } = makePurchase();
    await sellerBackend.answer(instanceId, { kind: "error", status: 503 }, { types: ["instance.created"], times: 1 });
    expect((await callV2(body)).json).toMatchObject({ resultCode: "000004", instanceId });
    await waitForOutbox(instanceId, (rows) => rows[0]?.attempts === 1);

    // The retry of instance.created comes after the window (the backend now provisions).
    await agePurchase(instanceId, PROVISIONING_WINDOW_MS);
    await makeDueAndRunAlarm(instanceId);
    await waitForOutbox(instanceId, (rows) => rows[0]?.state !== "pending");
    expect(await stateOf(instanceId)).toMatchObject({ status: "failed", failure_code: "000005", frontend_url: null });
    expect((await outboxOf(instanceId)).map((r) => r.type)).toEqual(["instance.created", "instance.failed"]);
    expect((await callV2({ ...body, businessId: crypto.randomUUID() })).json).toMatchObject({ resultCode: "000005", instanceId });
  });
});
