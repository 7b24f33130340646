import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { webhookHeaders } from "../../src/events/webhook-signature";
import { uniqueId } from "../support/marketplace";
import { sellerBackend } from "../support/seller-backend";

/* The test webhook URL reaches the fake seller backend, which verifies with the secret the Worker signs with. */

function deliver(instanceId: string, type: string, id = `evt_${uniqueId("W")}`) {
  const body = JSON.stringify({ id, type, timestamp: new Date().toISOString(), instanceId, test: false, data: {} });
  return fetch(env.SELLER_WEBHOOK_URL, { method: "POST", headers: webhookHeaders(env.SELLER_WEBHOOK_SECRET, id, Math.floor(Date.now() / 1000), body), body });
}

describe("the tests' fake seller backend", () => {
  it("acknowledges by default and answers instance.created with a frontEndUrl derived from the instance id", async () => {
    const instanceId = uniqueId("I");
    const created = await deliver(instanceId, "instance.created");
    expect(created.status).toBe(200);
    expect(await created.json()).toMatchObject({ frontEndUrl: `https://app.fake-seller.test/t/${instanceId}` });
    expect((await deliver(instanceId, "instance.frozen")).status).toBe(200);
    const seen = await sellerBackend.deliveries(instanceId);
    expect(seen.map((d) => [d.type, d.verified, d.status])).toEqual([
      ["instance.created", true, 200],
      ["instance.frozen", true, 200],
    ]);
  });

  it("follows per-instance instructions without touching another instance", async () => {
    const [steered, other] = [uniqueId("I"), uniqueId("I")];
    await sellerBackend.failTimes(steered, 2);
    await sellerBackend.answer(steered, { kind: "refuse", status: 422, resultCode: "000106", message: "sold out" }, { types: ["instance.created"] });
    expect((await deliver(steered, "instance.created")).status).toBe(500);
    expect((await deliver(other, "instance.created")).status).toBe(200);
    expect((await deliver(steered, "instance.created")).status).toBe(500);
    const refused = await deliver(steered, "instance.created");
    expect([refused.status, await refused.json()]).toEqual([422, { resultCode: "000106", message: "sold out" }]);
    expect((await deliver(steered, "instance.released")).status).toBe(200);
  });

  it("refuses a delivery whose signature does not verify, and global instructions from a test", async () => {
    const instanceId = uniqueId("I");
    const body = JSON.stringify({ id: "evt_x", type: "instance.created", instanceId });
    const forged = await fetch(env.SELLER_WEBHOOK_URL, { method: "POST", headers: webhookHeaders(`whsec_${btoa("another-secret-of-24-bytes!!")}`, "evt_x", Math.floor(Date.now() / 1000), body), body });
    expect(forged.status).toBe(401);
    expect(await sellerBackend.deliveries(instanceId)).toEqual([expect.objectContaining({ verified: false, problem: "No matching signature found", status: 401 })]);
    const global = await fetch("http://127.0.0.1:9/__seller/__control/rule", { method: "POST", body: JSON.stringify({ answer: { kind: "error" } }) });
    expect(global.status).toBe(400);
  });
});
