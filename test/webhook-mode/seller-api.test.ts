import { describe, expect, it, vi } from "vitest";
import { createKeyOf, instanceIdFor } from "../../src/instances/instance-id";
import { callV2, makeNewInstance, rowCounts } from "../support/marketplace";
import { SELLER_TABLES, sellerCall } from "../support/seller-api";
import { sellerBackend } from "../support/seller-backend";
import { allDelivered, waitForOutbox } from "../support/webhook-delivery";

/*
 * PROVISIONING_MODE=webhook: the seller's backend answers instance.created with 202 and finishes the purchase later
 * through the seller API.
 */

/** A purchase whose backend answers 202: resolves once the fake has answered its instance.created. */
async function buyAccepted(): Promise<{ instanceId: string; orderId: string; purchase: ReturnType<typeof makeNewInstance> }> {
  const purchase = makeNewInstance();
  const instanceId = instanceIdFor(createKeyOf(purchase.orderId, { orderLineId: purchase.orderLineId }, false));
  await sellerBackend.answer(instanceId, { kind: "accept" }, { types: ["instance.created"] });
  const answer = await callV2(purchase);
  expect(answer.json.resultCode).toBe("000004");
  await vi.waitFor(async () => expect((await sellerBackend.deliveries(instanceId)).map((d) => [d.type, d.status])).toContainEqual(["instance.created", 202]), { timeout: 5_000, interval: 50 });
  return { instanceId, orderId: purchase.orderId, purchase };
}

async function feedTypesOf(instanceId: string): Promise<string[]> {
  const types: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await sellerCall(`/api/v1/events?limit=500${cursor ? `&after=${cursor}` : ""}`);
    const events = page.json.events as Array<{ instanceId: string; type: string }>;
    types.push(...events.filter((event) => event.instanceId === instanceId).map((event) => event.type));
    if (events.length === 0) return types;
    cursor = String(page.json.nextCursor);
  }
}

describe("webhook mode through the seller API", () => {
  it("202, then POST …/provisioned: active with the seller's app info; the same body again is 200, another is 409 storing nothing", async () => {
    const { instanceId, purchase } = await buyAccepted();
    expect((await sellerCall(`/api/v1/instances/${instanceId}`)).json).toMatchObject({ status: "provisioning", appInfo: null, productId: expect.any(String) });

    const body = { frontEndUrl: `https://tenant.seller.example/${instanceId}`, adminUrl: "https://tenant.seller.example/admin", userName: "owner", password: "S3cret-from-seller!" };
    const done = await sellerCall(`/api/v1/instances/${instanceId}/provisioned`, { method: "POST", body });
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ instanceId, status: "active", appInfo: { frontEndUrl: body.frontEndUrl, adminUrl: body.adminUrl, userName: "owner" } });
    expect(JSON.stringify(done.json)).not.toContain(body.password);

    const again = await sellerCall(`/api/v1/instances/${instanceId}/provisioned`, { method: "POST", body });
    expect([again.status, again.json.version]).toEqual([200, done.json.version]);

    const before = await rowCounts(SELLER_TABLES);
    const other = await sellerCall(`/api/v1/instances/${instanceId}/provisioned`, { method: "POST", body: { ...body, frontEndUrl: "https://elsewhere.example/" } });
    expect(other.status).toBe(409);
    expect(await rowCounts(SELLER_TABLES)).toEqual(before);

    // The Marketplace gets the seller's app info (the password in it too), on a query and on its retry of newInstance.
    expect((await callV2({ activity: "queryInstance", instanceId })).json).toEqual({
      resultCode: "000000",
      resultMsg: "success",
      info: [{ instanceId, appInfo: { frontEndUrl: body.frontEndUrl, adminUrl: body.adminUrl, userName: "owner", password: body.password } }],
    });
    expect((await callV2({ ...purchase, businessId: crypto.randomUUID() })).json).toMatchObject({ resultCode: "000000", instanceId });
    expect(await feedTypesOf(instanceId)).toEqual(["instance.created", "instance.provisioned"]);

    // The seller's backend: instance.created answered 202 once (not retried), then instance.provisioned with its app info.
    const rows = await waitForOutbox(instanceId, allDelivered(2));
    expect(rows.map((row) => [row.type, row.attempts, row.lastStatus])).toEqual([
      ["instance.created", 1, 202],
      ["instance.provisioned", 1, 200],
    ]);
    expect((await sellerBackend.deliveries(instanceId)).map((d) => [d.type, d.status, d.verified])).toEqual([
      ["instance.created", 202, true],
      ["instance.provisioned", 200, true],
    ]);
    expect(JSON.parse(rows[1]?.body ?? "{}")).toMatchObject({ data: { status: "active", appInfo: { frontEndUrl: body.frontEndUrl, userName: "owner" } } });
    expect(rows[1]?.body).not.toContain(body.password);
  });

  it("202, then POST …/provisioning-failed: failed with the seller's code; the same code again is 200, another is 409", async () => {
    const { instanceId } = await buyAccepted();
    const failed = await sellerCall(`/api/v1/instances/${instanceId}/provisioning-failed`, { method: "POST", body: { resultCode: "000106", message: "region sold out" } });
    expect(failed.status).toBe(200);
    expect(failed.json).toMatchObject({ instanceId, status: "failed" });
    expect((await callV2({ activity: "queryInstance", instanceId })).json).toMatchObject({ resultCode: "000106", resultMsg: "region sold out" });
    expect((await sellerCall(`/api/v1/instances/${instanceId}/provisioning-failed`, { method: "POST", body: { resultCode: "000106", message: "region sold out" } })).status).toBe(200);
    expect((await sellerCall(`/api/v1/instances/${instanceId}/provisioning-failed`, { method: "POST", body: { resultCode: "000101", message: "other" } })).status).toBe(409);
    expect((await sellerCall(`/api/v1/instances/${instanceId}/provisioned`, { method: "POST", body: { frontEndUrl: "https://late.example/" } })).status).toBe(409);
    expect(await feedTypesOf(instanceId)).toEqual(["instance.created", "instance.failed"]);
    // The seller's backend hears of the failure it reported, now rather than at the next sweep.
    const rows = await waitForOutbox(instanceId, allDelivered(2));
    expect(rows.map((row) => [row.type, row.lastStatus])).toEqual([
      ["instance.created", 202],
      ["instance.failed", 200],
    ]);
    expect(JSON.parse(rows[1]?.body ?? "{}")).toMatchObject({ data: { status: "failed", resultCode: "000106", reason: "region sold out" } });
  });

  it("credentials: 409 while provisioning (no login issued by the gateway)", async () => {
    const { instanceId } = await buyAccepted();
    const answer = await sellerCall(`/api/v1/instances/${instanceId}/credentials`);
    expect(answer.status).toBe(409);
  });
});
