import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sendWith, signedV1Get, v1Now } from "../support/kit";
import { callV2, expireTime, makeNewInstance, uniqueId } from "../support/marketplace";

/** What the inbox keeps of a callback: no personal field of the buyer, in any dialect. */
beforeEach(() => {
  vi.spyOn(globalThis, "fetch").mockImplementation(async () => Response.json({ resultCode: "CBC.0999", resultMsg: "down" }, { status: 500 }));
});
afterEach(() => vi.restoreAllMocks());

async function inboxRequestsOf(orderId: string): Promise<string[]> {
  const rows = await env.DB.prepare("SELECT request FROM inbox WHERE idempotency_key LIKE ?").bind(`%${orderId}%`).all<{ request: string }>();
  return rows.results.map((row) => row.request);
}

const PERSONAL = ["张三", "zhangsan", "13800138000", "z@example.com", "Buyer Person"];

describe("inbox.request", () => {
  it("V2 newInstance with the buyerInfo variant: personal fields removed, a keyed digest kept", async () => {
    const body = makeNewInstance({
      buyerInfo: { customerId: "cust-1", customerName: "张三", userName: "zhangsan", mobilePhone: "13800138000", email: "z@example.com" },
    });
    const answer = await callV2(body);
    expect(["000000", "000004"]).toContain(answer.json.resultCode);
    const [request, ...others] = await inboxRequestsOf(body.orderId);
    expect(others).toEqual([]);
    for (const personal of PERSONAL) expect(request).not.toContain(personal);
    expect(JSON.parse(request ?? "{}")).toMatchObject({
      orderId: body.orderId,
      buyerInfo: { customerId: "cust-1", customerName: "[removed]" },
      receivedBodyHmac: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // Conflict detection does not depend on the stored text: the same call again gets the same answer.
    expect((await callV2(body)).text).toBe(answer.text);
  });

  it("V1 newInstance: customerName, userName and userId removed as well as the encrypted contact", async () => {
    const orderId = uniqueId("CS");
    const params = {
      activity: "newInstance",
      customerId: "cust-2",
      customerName: "Buyer Person",
      userName: "zhangsan",
      userId: "iam-1",
      businessId: crypto.randomUUID(),
      orderId,
      skuCode: "sku-basic",
      productId: "prod-monthly",
      chargingMode: "1",
      periodType: "month",
      periodNumber: "1",
      expireTime: expireTime(new Date(Date.now() + 30 * 86400_000)),
      testFlag: "0",
      timeStamp: v1Now(),
    };
    const answer = await sendWith(signedV1Get(params), {}, env.SAAS_ACCESS_KEY);
    // Query order is down here: the purchase waits for its order (000004), and its call is in the inbox all the same.
    expect(answer.json.resultCode).toBe("000004");
    const [request] = await inboxRequestsOf(orderId);
    for (const personal of [...PERSONAL, "iam-1"]) expect(request).not.toContain(personal);
    expect(request).not.toContain("authToken");
    expect(JSON.parse(request ?? "{}")).toMatchObject({ orderId, customerId: "cust-2", customerName: "[removed]", userName: "[removed]", receivedBodyHmac: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });
});
