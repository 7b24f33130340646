import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PROVISIONING_WINDOW_MS } from "../../src/actor/instance.actor";
import { derivedAppInfo } from "../../tools/fake-seller-backend/fake-seller-backend.ts";
import { callV2, instanceRow } from "../support/marketplace";
import { sellerCall } from "../support/seller-api";
import { sellerBackend } from "../support/seller-backend";
import { allDelivered, deliveriesOf, makeDueAndRunAlarm, makePurchase, marketplaceOrders, outboxOf, waitForOutbox } from "../support/webhook-delivery";

/*
 * PROVISIONING_MODE=webhook (docs/seller-contract.md "Webhook provisioning"): the seller backend's answer to
 * instance.created decides the purchase, and the Marketplace's answers follow it. The fake seller backend answers
 * instance.created with 200 and a frontEndUrl derived from the instance id unless told otherwise.
 */

const dataOf = (body: string | undefined) => (JSON.parse(body ?? "{}") as { data: Record<string, unknown> }).data;

describe("the answer to instance.created decides the purchase", () => {
  it("200 with frontEndUrl: active at once, the Marketplace gets 000000 and queryInstance shows the seller's app info", async () => {
    const { body, instanceId } = makePurchase();
    const answer = await callV2(body);
    expect(answer.json).toMatchObject({ resultCode: "000000", instanceId });

    const expected = derivedAppInfo(instanceId);
    const query = await callV2({ activity: "queryInstance", instanceId });
    expect(query.json).toEqual({ resultCode: "000000", resultMsg: "success", info: [{ instanceId, appInfo: expected }] });

    const row = await instanceRow(instanceId);
    expect(row).toMatchObject({ status: "active", frontend_url: expected.frontEndUrl, admin_user_name: "admin", product_id: "OFFI000000001" });
    // The seller's password is kept sealed, like the builtin one.
    expect(String(row?.admin_password_sealed)).not.toContain(expected.password);

    const entitlement = await sellerCall(`/api/v1/instances/${instanceId}`);
    expect(entitlement.json).toMatchObject({ status: "active", appInfo: { frontEndUrl: expected.frontEndUrl, adminUrl: expected.adminUrl, userName: "admin" } });
    expect(JSON.stringify(entitlement.json)).not.toContain(expected.password);

    const rows = await waitForOutbox(instanceId, allDelivered(2));
    expect(rows.map((r) => [r.type, r.attempts, r.lastStatus])).toEqual([
      ["instance.created", 1, 200],
      ["instance.provisioned", 1, 200],
    ]);
    // instance.created is the provisioning request: the order is known, nothing is provisioned yet.
    expect(dataOf(rows[0]?.body)).toMatchObject({ status: "provisioning", appInfo: null, productId: "OFFI000000001", customer: { id: "cust-1" } });
    expect(dataOf(rows[1]?.body)).toMatchObject({ status: "active", appInfo: { frontEndUrl: expected.frontEndUrl } });
    expect((await deliveriesOf(instanceId)).map((d) => [d.type, d.status, d.verified])).toEqual([
      ["instance.created", 200, true],
      ["instance.provisioned", 200, true],
    ]);
  });

  it("422 with 000106: failed with that code, which newInstance and queryInstance give the Marketplace", async () => {
    const { body, instanceId } = makePurchase();
    await sellerBackend.answer(instanceId, { kind: "refuse", status: 422, resultCode: "000106", message: "sold out in this region" }, { types: ["instance.created"] });
    const answer = await callV2(body);
    expect(answer.json).toMatchObject({ resultCode: "000106", instanceId });
    expect(answer.bodySignValid).toBe(true);

    const query = await callV2({ activity: "queryInstance", instanceId });
    expect(query.json.resultCode).toBe("000106");
    expect(query.text).not.toContain("appInfo");

    expect(await instanceRow(instanceId)).toMatchObject({ status: "failed", failure_code: "000106", failure_reason: "sold out in this region", provisioned_at: null });
    const rows = await waitForOutbox(instanceId, allDelivered(2));
    expect(rows.map((r) => [r.type, r.lastStatus])).toEqual([
      ["instance.created", 422],
      ["instance.failed", 200],
    ]);
    expect(dataOf(rows[1]?.body)).toMatchObject({ status: "failed", resultCode: "000106", reason: "sold out in this region" });
    // Asked once: a refusal is an answer, not a failure to retry.
    expect((await deliveriesOf(instanceId)).filter((d) => d.type === "instance.created")).toHaveLength(1);
  });

  it.each([
    ["garbage", "HTTP 200 without a valid provisioning result"],
    ["no-front-end-url", "HTTP 200 without a valid provisioning result: frontEndUrl"],
    ["hang", "no answer within 10000 ms"],
  ] as const)(
    "%s: never provisioned on a guess; the Marketplace gets 000004; retried, then provisioned by a proper answer",
    async (kind, reason) => {
      const { body, instanceId } = makePurchase();
      await sellerBackend.answer(instanceId, { kind }, { times: 1, types: ["instance.created"] });
      expect((await callV2(body)).json).toMatchObject({ resultCode: "000004", instanceId });

      // The first attempt is recorded as failed (a hang: after the gateway's 10 s), with the reason.
      const [created] = await waitForOutbox(instanceId, (rows) => rows[0]?.attempts === 1, 20_000);
      expect(created).toMatchObject({ type: "instance.created", state: "pending", attempts: 1 });
      const stored = await env.DB.prepare("SELECT last_error FROM events WHERE id = ?").bind(created?.id).first<{ last_error: string }>();
      expect(stored?.last_error).toContain(reason);
      expect(await instanceRow(instanceId)).toMatchObject({ status: "provisioning", provisioned_at: null, frontend_url: null });
      expect(await outboxOf(instanceId)).toHaveLength(1);
      const query = await callV2({ activity: "queryInstance", instanceId });
      expect(query.json).toEqual({ resultCode: "000004", resultMsg: "provisioning", info: [{ instanceId }] });
      expect((await callV2({ ...body, businessId: crypto.randomUUID() })).json).toMatchObject({ resultCode: "000004", instanceId });

      // The retry gets a proper answer.
      await makeDueAndRunAlarm(instanceId);
      const rows = await waitForOutbox(instanceId, allDelivered(2));
      expect(rows.map((r) => [r.type, r.attempts])).toEqual([
        ["instance.created", 2],
        ["instance.provisioned", 1],
      ]);
      expect((await callV2({ ...body, businessId: crypto.randomUUID() })).json).toMatchObject({ resultCode: "000000", instanceId });
      expect((await callV2({ activity: "queryInstance", instanceId })).json).toMatchObject({ resultCode: "000000", info: [{ instanceId, appInfo: derivedAppInfo(instanceId) }] });
    },
    30_000,
  );

  it("a backend down for longer than the Marketplace's 3-hour window: failed, with instance.failed", async () => {
    const { body, instanceId } = makePurchase();
    await sellerBackend.answer(instanceId, { kind: "error", status: 503 });
    expect((await callV2(body)).json).toMatchObject({ resultCode: "000004", instanceId });
    const [created] = await waitForOutbox(instanceId, (rows) => rows[0]?.attempts === 1);
    // The window is the Marketplace's, counted from the purchase.
    const row = await instanceRow(instanceId);
    expect(created?.deliverBy).toBe(Number(row?.created_at) + PROVISIONING_WINDOW_MS);

    // Three hours later, the next attempt fails too: the purchase ends failed.
    await makeDueAndRunAlarm(instanceId, { deliverBy: Date.now() - 1 });
    await waitForOutbox(instanceId, (rows) => rows[0]?.state === "failed" && rows[1]?.attempts === 1);
    expect(await instanceRow(instanceId)).toMatchObject({ status: "failed", failure_code: "000005", provisioned_at: null });
    const query = await callV2({ activity: "queryInstance", instanceId });
    expect(query.json.resultCode).toBe("000005");
    expect(query.text).not.toContain("appInfo");

    // The backend comes back: instance.failed (retrying on its own 24-hour schedule) reaches it.
    await sellerBackend.clear(instanceId);
    await makeDueAndRunAlarm(instanceId);
    const rows = await waitForOutbox(instanceId, (r) => r[1]?.state === "delivered");
    expect(rows.map((r) => [r.type, r.state, r.attempts])).toEqual([
      ["instance.created", "failed", 2],
      ["instance.failed", "delivered", 2],
    ]);
    expect(dataOf(rows[1]?.body)).toMatchObject({ status: "failed", resultCode: "000005", reason: expect.stringContaining("3-hour window") });
    expect((await deliveriesOf(instanceId)).map((d) => [d.type, d.status])).toEqual([
      ["instance.created", 503],
      ["instance.created", 503],
      ["instance.failed", 503],
      ["instance.failed", 200],
    ]);
  });

  it("a debug purchase is provisioned at once by the builtin adapter while the seller's backend is down, without query order", async () => {
    const { body, instanceId } = makePurchase({ testFlag: "1" });
    await sellerBackend.answer(instanceId, { kind: "error" });
    expect((await callV2(body)).json).toMatchObject({ resultCode: "000000", instanceId });

    const query = await callV2({ activity: "queryInstance", instanceId, testFlag: "1" });
    expect(query.json).toMatchObject({ resultCode: "000000", info: [{ instanceId, appInfo: { frontEndUrl: expect.any(String), userName: expect.any(String), password: expect.any(String) } }] });
    expect(query.text).not.toContain("fake-seller.test");
    expect(await instanceRow(instanceId)).toMatchObject({ status: "active", is_test: 1 });
    expect(await marketplaceOrders.calls(body.orderId)).toBe(0);

    // The seller still hears of it (test: true), on the normal retry schedule.
    const rows = await waitForOutbox(instanceId, (r) => r[0]?.attempts === 1);
    expect(rows.map((r) => [r.type, r.state])).toEqual([
      ["instance.created", "pending"],
      ["instance.provisioned", "pending"],
    ]);
    expect(rows.every((r) => r.deliverBy === null)).toBe(true);
    expect((await deliveriesOf(instanceId)).map((d) => [d.type, d.status, d.event?.test])).toEqual([["instance.created", 500, true]]);
  });
});
