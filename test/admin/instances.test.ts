import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AdminInstanceList, Timeline } from "../../src/admin/admin-api.schema";
import { controlOrders, newInstanceBody, stateOf } from "../support/lifecycle";
import { callV2, uniqueId } from "../support/marketplace";
import { queryOrderInfo } from "../support/orders";
import { seedInstance } from "../support/seller-api";
import { adminGet } from "../support/admin";
import { waitForOutbox, allDelivered } from "../support/webhook-delivery";

const T0 = Date.UTC(2026, 9, 1);

/** A purchase whose order names the buyer `customerName`: bought through newInstance, provisioned (order first). */
async function purchaseBy(customerName: string) {
  const orderId = uniqueId("CS");
  await controlOrders({ orders: { [orderId]: { ...queryOrderInfo(orderId), buyerInfo: { customerId: uniqueId("cust"), customerName } } } });
  const body = newInstanceBody(orderId, { customerName: "Sent By Marketplace", mobilePhone: "13800138000" });
  const answer = await callV2(body);
  expect(answer.json.resultCode).toBe("000000");
  return { instanceId: String(answer.json.instanceId), orderId };
}

async function walk(query: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 50; pages += 1) {
    const answer = await adminGet(`/admin/api/instances?${query}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(answer.status, answer.text).toBe(200);
    const list = AdminInstanceList.parse(answer.json);
    ids.push(...list.instances.map((row) => row.instanceId));
    cursor = list.nextCursor;
    if (cursor === null) return ids;
  }
  throw new Error("more than 50 pages");
}

describe("GET /admin/api/instances", () => {
  it("finds an instance by its id, its order id or its customer's name, in the documented shape", async () => {
    const name = `Buyer ${uniqueId("N")}`;
    const { instanceId, orderId } = await purchaseBy(name);
    for (const q of [instanceId, orderId, name]) {
      const answer = await adminGet(`/admin/api/instances?q=${encodeURIComponent(q)}`);
      expect(answer.status).toBe(200);
      const list = AdminInstanceList.parse(answer.json);
      expect(list.instances.map((row) => row.instanceId)).toEqual([instanceId]);
      expect(list.instances[0]).toMatchObject({ orderId, status: "active", customer: { name }, failureReason: null });
      expect(answer.text).not.toMatch(/password/i);
    }
    expect(AdminInstanceList.parse((await adminGet(`/admin/api/instances?q=${encodeURIComponent(name.slice(0, -1))}`)).json).instances).toEqual([]);
    // The filters apply to a search too.
    expect(AdminInstanceList.parse((await adminGet(`/admin/api/instances?q=${orderId}&status=frozen`)).json).instances).toEqual([]);
  });

  it("pages newest first with a keyset cursor, filters as the seller API does, each row once", async () => {
    const productId = uniqueId("P");
    const seeded: Array<{ id: string; createdAt: number; status: "active" | "failed" }> = [];
    for (let i = 0; i < 9; i += 1) {
      const row = { createdAt: T0 + Math.floor(i / 2) * 1000, status: i % 3 === 0 ? ("failed" as const) : ("active" as const) };
      seeded.push({ ...row, id: await seedInstance({ ...row, productId }) });
    }
    const newest = [...seeded].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    expect(await walk(`productId=${productId}&limit=2`)).toEqual(newest.map((row) => row.id));
    expect(await walk(`productId=${productId}&status=failed&limit=1`)).toEqual(newest.filter((row) => row.status === "failed").map((row) => row.id));
  });

  it.each([
    ["a cursor that is not base64url JSON", "cursor=%%%"],
    ["a cursor of another list", `cursor=${Buffer.from(JSON.stringify(["e", 5])).toString("base64url")}`],
    ["an unknown status", "status=deleted"],
    ["a limit above 500", "limit=501"],
    ["an unknown parameter", "sort=name"],
    ["a repeated parameter", "status=active&status=failed"],
  ])("400 with a reason for %s", async (_case, query) => {
    const answer = await adminGet(`/admin/api/instances?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: expect.stringMatching(/cursor|status|limit|sort|given twice/) });
  });
});

describe("GET /admin/api/instances/{id}/timeline", () => {
  it("one list in time order: the callback without personal data, audit rows with a verified chain, the order fetch, deliveries", async () => {
    const { instanceId, orderId } = await purchaseBy(`Timeline ${uniqueId("N")}`);
    await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" });
    await waitForOutbox(instanceId, allDelivered(3));
    const answer = await adminGet(`/admin/api/instances/${instanceId}/timeline`);
    expect(answer.status).toBe(200);
    const timeline = Timeline.parse(answer.json);
    expect(timeline.instance).toMatchObject({ instanceId, orderId, status: "frozen" });
    expect(timeline.audit).toEqual({ ok: true, length: 2 });
    expect(timeline.truncated).toBe(false);
    const kinds = timeline.entries.map((entry) => (entry.kind === "audit" ? `audit:${entry.event}` : entry.kind === "delivery" ? `delivery:${entry.type}` : entry.kind));
    expect(kinds).toEqual(
      expect.arrayContaining(["inbox", "audit:newInstance", "orderFetch", "delivery:instance.created", "delivery:instance.provisioned", "audit:updateInstanceStatus", "delivery:instance.frozen"]),
    );
    const times = timeline.entries.map((entry) => entry.at);
    expect(times).toEqual([...times].sort());
    expect(kinds.indexOf("audit:newInstance")).toBeLessThan(kinds.indexOf("audit:updateInstanceStatus"));
    const inbox = timeline.entries.find((entry) => entry.kind === "inbox" && entry.activity === "newInstance");
    expect(inbox).toMatchObject({ resultCode: "000000", request: { orderId, customerName: "[removed]", mobilePhone: "[removed]" } });
    expect(answer.text).not.toContain("13800138000");
    expect(answer.text).not.toMatch(/password/i);
    expect(timeline.entries.filter((entry) => entry.kind === "delivery").every((entry) => entry.kind === "delivery" && entry.deliveryState === "delivered" && entry.attempts === 1)).toBe(true);
  });

  it("shows a tampered audit chain as failed verification", async () => {
    const { instanceId } = await purchaseBy(`Tamper ${uniqueId("N")}`);
    await env.DB.prepare("UPDATE audit_events SET to_status = 'released' WHERE instance_id = ? AND seq = 1").bind(instanceId).run();
    const timeline = Timeline.parse((await adminGet(`/admin/api/instances/${instanceId}/timeline`)).json);
    expect(timeline.audit).toEqual({ ok: false, seq: 1, problem: "row content does not match its MAC" });
  });

  it("404 for an unknown instance, 400 for a bad limit", async () => {
    expect(await adminGet("/admin/api/instances/no-such-instance/timeline")).toMatchObject({ status: 404, json: { error: "instance no-such-instance does not exist" } });
    const { instanceId } = await purchaseBy(`Limit ${uniqueId("N")}`);
    expect((await adminGet(`/admin/api/instances/${instanceId}/timeline?limit=0`)).status).toBe(400);
    expect(await stateOf(instanceId)).toMatchObject({ status: "active" });
  });
});
