import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ReplayAnswer, RetryProvisioningAnswer } from "../../src/admin/admin-api.schema";
import { auditOf, controlOrders, eventsOf, newInstanceBody, periodOrder, runDueOrderFetches, stateOf } from "../support/lifecycle";
import { callV2, createInstance, rowCounts, uniqueId } from "../support/marketplace";
import { adminActionsOf, adminPost } from "../support/admin";

interface InboxRow {
  id: number;
  activity: string;
  result_code: string;
  answer: string;
}

async function inboxOf(instanceId: string): Promise<InboxRow[]> {
  const rows = await env.DB.prepare("SELECT id, activity, result_code, answer FROM inbox WHERE instance_id = ? ORDER BY id").bind(instanceId).all<InboxRow>();
  return rows.results;
}

const TABLES = ["instances", "orders", "inbox", "audit_events", "events", "admin_actions"] as const;

/** A real purchase whose query order answers a final error: 000004 first, `failed` after the background attempt. */
async function failedPurchase() {
  const orderId = uniqueId("CS");
  await controlOrders({ orders: { [orderId]: { orderType: "NEW" } } });
  const first = await callV2(newInstanceBody(orderId));
  expect(first.json.resultCode).toBe("000004");
  const instanceId = String(first.json.instanceId);
  await runDueOrderFetches(instanceId);
  expect(await stateOf(instanceId)).toMatchObject({ status: "failed" });
  return { instanceId, orderId };
}

describe("POST /admin/api/instances/{id}/replay/{inboxId}", () => {
  it("a finished callback: its recorded answer byte for byte, every time, and nothing changes", async () => {
    const { instanceId } = await createInstance();
    await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE", businessId: crypto.randomUUID() });
    for (const entry of await inboxOf(instanceId)) {
      const before = await rowCounts(TABLES);
      for (let i = 0; i < 2; i += 1) {
        const answer = await adminPost(`/admin/api/instances/${instanceId}/replay/${entry.id}`);
        expect(answer.status).toBe(200);
        expect(ReplayAnswer.parse(answer.json)).toEqual({
          inboxId: entry.id,
          instanceId,
          interface: "v2",
          activity: entry.activity,
          source: "recorded",
          resultCode: entry.result_code,
          answer: entry.answer,
        });
      }
      expect(await rowCounts(TABLES)).toEqual(before);
    }
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen" });
  });

  it("an unfinished purchase (000004) goes through the actor now: answered from where the purchase is, recorded row unchanged", async () => {
    const orderId = uniqueId("CS");
    await controlOrders({ failOrders: { [orderId]: 1 }, orders: { [orderId]: periodOrder(orderId, Date.now() + 30 * 86_400_000) } });
    const first = await callV2(newInstanceBody(orderId));
    expect(first.json.resultCode).toBe("000004");
    const instanceId = String(first.json.instanceId);
    const [entry] = await inboxOf(instanceId);
    expect(entry).toMatchObject({ activity: "newInstance", result_code: "000004" });
    await runDueOrderFetches(instanceId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "active" });

    const answer = await adminPost(`/admin/api/instances/${instanceId}/replay/${entry?.id}`);
    expect(answer.status).toBe(200);
    expect(ReplayAnswer.parse(answer.json)).toMatchObject({ source: "applied", resultCode: "000000", activity: "newInstance" });
    expect(JSON.parse(String(answer.json.answer))).toEqual({ resultCode: "000000", resultMsg: "success", instanceId });
    expect(answer.text).not.toMatch(/password/i);
    expect(await inboxOf(instanceId)).toEqual([entry]);
    expect((await adminActionsOf(instanceId)).map((row) => [row.actor, row.action])).toEqual([["admin", "replay"]]);
  });

  it("a purchase that failed after its 000004: the replay is the Marketplace's retry, and provisions it", async () => {
    const { instanceId, orderId } = await failedPurchase();
    await controlOrders({ orders: { [orderId]: periodOrder(orderId, Date.now() + 30 * 86_400_000) } });
    const [entry] = await inboxOf(instanceId);
    const answer = await adminPost(`/admin/api/instances/${instanceId}/replay/${entry?.id}`);
    expect(ReplayAnswer.parse(answer.json)).toMatchObject({ source: "applied", resultCode: "000000" });
    expect(await stateOf(instanceId)).toMatchObject({ status: "active" });
    const last = await env.DB.prepare("SELECT event, detail FROM audit_events WHERE instance_id = ? ORDER BY seq DESC LIMIT 1").bind(instanceId).first<{ event: string; detail: string }>();
    expect(last?.event).toBe("provisioningRetried");
    expect(JSON.parse(String(last?.detail))).toMatchObject({ by: "admin", activity: "newInstance" });
    // The answer comes from the instance now; the recorded row stays what the Marketplace was told then.
    expect(await inboxOf(instanceId)).toEqual([entry]);
  });

  it("404 for an unknown inbox entry or one of another instance; 400 for a malformed id; nothing stored", async () => {
    const { instanceId } = await createInstance();
    const { instanceId: other } = await createInstance();
    const [otherEntry] = await inboxOf(other);
    const before = await rowCounts(TABLES);
    expect((await adminPost(`/admin/api/instances/${instanceId}/replay/${otherEntry?.id}`)).status).toBe(404);
    expect((await adminPost(`/admin/api/instances/${instanceId}/replay/999999999`)).status).toBe(404);
    expect((await adminPost("/admin/api/instances/no-such-instance/replay/1")).status).toBe(404);
    const malformed = await adminPost(`/admin/api/instances/${instanceId}/replay/first`);
    expect(malformed.status).toBe(400);
    expect(malformed.json.error).toMatch(/inboxId/);
    expect(await rowCounts(TABLES)).toEqual(before);
  });
});

describe("POST /admin/api/instances/{id}/retry-provisioning", () => {
  it("a failed purchase provisions again through its actor: order first, the contract's events, audited as the operator's", async () => {
    const { instanceId, orderId } = await failedPurchase();
    await controlOrders({ orders: { [orderId]: periodOrder(orderId, Date.now() + 30 * 86_400_000) } });
    const answer = await adminPost(`/admin/api/instances/${instanceId}/retry-provisioning`);
    expect(answer.status, answer.text).toBe(200);
    expect(RetryProvisioningAnswer.parse(answer.json).instance).toMatchObject({ instanceId, status: "active", failureReason: null, failureCode: null });
    expect(answer.text).not.toMatch(/password/i);
    expect(await stateOf(instanceId)).toMatchObject({ status: "active" });
    expect((await eventsOf(instanceId)).map((event) => event.type)).toEqual(["instance.failed", "instance.created", "instance.provisioned"]);
    const audit = await auditOf(instanceId);
    expect(audit.at(-1)).toMatchObject({ event: "provisioningRetried", from_status: "failed", to_status: "active" });
    const last = await env.DB.prepare("SELECT detail FROM audit_events WHERE instance_id = ? ORDER BY seq DESC LIMIT 1").bind(instanceId).first<{ detail: string }>();
    expect(JSON.parse(String(last?.detail))).toMatchObject({ by: "admin", activity: "retryProvisioning" });
    expect((await adminActionsOf(instanceId)).map((row) => [row.actor, row.action])).toEqual([["admin", "retryProvisioning"]]);
    // Not failed any more: a second retry is refused.
    expect(await adminPost(`/admin/api/instances/${instanceId}/retry-provisioning`)).toMatchObject({ status: 409, json: { error: "instance is active, not failed" } });
  });

  it("409 for an instance that has not failed, 404 for an unknown one; nothing stored", async () => {
    const { instanceId } = await createInstance();
    const before = await rowCounts(TABLES);
    expect(await adminPost(`/admin/api/instances/${instanceId}/retry-provisioning`)).toMatchObject({ status: 409, json: { error: "instance is active, not failed" } });
    expect((await adminPost("/admin/api/instances/no-such-instance/retry-provisioning")).status).toBe(404);
    expect(await rowCounts(TABLES)).toEqual(before);
  });
});
