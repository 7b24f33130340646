import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createKeyOf, instanceIdFor } from "../../src/instances/instance-id";
import { callV2, makeNewInstance } from "../support/marketplace";
import { sellerBackend } from "../support/seller-backend";

/*
 * Issue 9 point 4 in webhook mode: the seller's backend refuses a purchase (422 with a result code), which fails it.
 * The Marketplace hears the refusal on the call that caused it; `failed` is terminal for status changes; a new
 * newInstance is the Marketplace's retry and sends instance.created again.
 */

async function stateOf(instanceId: string) {
  return env.DB.prepare("SELECT status, failure_code, frozen_reason, version FROM instances WHERE id = ?")
    .bind(instanceId)
    .first<{ status: string; failure_code: string | null; frozen_reason: string | null; version: number }>();
}

async function createdDeliveries(instanceId: string): Promise<Array<number | null>> {
  return (await sellerBackend.deliveries(instanceId)).filter((d) => d.type === "instance.created").map((d) => d.status);
}

describe("a purchase the seller's backend refuses", () => {
  it("is answered with the seller's code, stays failed through FREEZE/UNFREEZE, and a new newInstance retries it", async () => {
    const purchase = makeNewInstance();
    const instanceId = instanceIdFor(createKeyOf(purchase.orderId, { orderLineId: purchase.orderLineId }, false));
    await sellerBackend.answer(instanceId, { kind: "refuse", status: 422, resultCode: "000106", message: "sold out" }, { types: ["instance.created"], times: 1 });

    const first = await callV2(purchase);
    expect(first.json).toMatchObject({ resultCode: "000106", instanceId });
    expect(await stateOf(instanceId)).toMatchObject({ status: "failed", failure_code: "000106" });
    expect(await createdDeliveries(instanceId)).toEqual([422]);

    for (const status of ["FREEZE", "UNFREEZE"]) {
      expect((await callV2({ activity: "updateInstanceStatus", instanceId, status })).json.resultCode).toBe("000000");
      expect(await stateOf(instanceId)).toMatchObject({ status: "failed", frozen_reason: null });
      expect((await callV2({ activity: "queryInstance", instanceId })).json.resultCode).not.toBe("000004");
    }

    // The backend provisions now (its rule was for one delivery): the Marketplace's retry finishes the purchase.
    const retry = await callV2({ ...purchase, businessId: crypto.randomUUID() });
    expect(retry.json.instanceId).toBe(instanceId);
    await vi.waitFor(async () => expect(await stateOf(instanceId)).toMatchObject({ status: "active", failure_code: null }), { timeout: 5_000, interval: 50 });
    expect(await createdDeliveries(instanceId)).toEqual([422, 200]);
    expect((await callV2({ activity: "queryInstance", instanceId })).json.resultCode).toBe("000000");
  });
});
