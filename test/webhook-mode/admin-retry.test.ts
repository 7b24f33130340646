import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { RetryProvisioningAnswer } from "../../src/admin/admin-api.schema";
import { createKeyOf, instanceIdFor } from "../../src/instances/instance-id";
import { callV2, makeNewInstance } from "../support/marketplace";
import { sellerBackend } from "../support/seller-backend";
import { adminPost } from "../support/admin";

/*
 * Webhook mode: the operator's retry of a purchase the seller's backend refused sends instance.created to the backend
 * again at once, and the backend's answer decides the purchase, as on the Marketplace's own retry.
 */

async function statusOf(instanceId: string) {
  return env.DB.prepare("SELECT status, failure_code FROM instances WHERE id = ?").bind(instanceId).first<{ status: string; failure_code: string | null }>();
}

describe("POST /admin/api/instances/{id}/retry-provisioning in webhook mode", () => {
  it("asks the seller's backend again: its 200 provisions the purchase", async () => {
    const purchase = makeNewInstance();
    const instanceId = instanceIdFor(createKeyOf(purchase.orderId, { orderLineId: purchase.orderLineId }, false));
    await sellerBackend.answer(instanceId, { kind: "refuse", status: 422, resultCode: "000106", message: "sold out" }, { types: ["instance.created"], times: 1 });
    expect((await callV2(purchase)).json).toMatchObject({ resultCode: "000106", instanceId });
    expect(await statusOf(instanceId)).toMatchObject({ status: "failed", failure_code: "000106" });

    const answer = await adminPost(`/admin/api/instances/${instanceId}/retry-provisioning`);
    expect(answer.status, answer.text).toBe(200);
    expect(RetryProvisioningAnswer.parse(answer.json).instance).toMatchObject({ instanceId, status: "active", failureCode: null });
    const created = (await sellerBackend.deliveries(instanceId)).filter((d) => d.type === "instance.created").map((d) => d.status);
    expect(created).toEqual([422, 200]);
    expect(await statusOf(instanceId)).toMatchObject({ status: "active", failure_code: null });
  });
});
