import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EXPIRY_GRACE_MS, reconcileJob } from "../../src/billing/reconcile.job";
import { formatCompactUtc } from "../../src/protocol/time-formats";
import { setClock } from "../support/billing";
import { auditOf, callV1, controlOrders, eventsOf, newInstanceBody, periodOrder, queryV2, stateOf } from "../support/lifecycle";
import { callV2, createInstance, uniqueId } from "../support/marketplace";

/*
 * Issue 9 point 1 (spec §3.3, §3.4, §5.4): V1 has no unfreeze for an expiry, so a renewal that moves the expiry into
 * the future lifts an expiry freeze (V1 expireInstance, or the gateway's own after EXPIRY_GRACE_MS); a Marketplace
 * FREEZE (V2 updateInstanceStatus, V1 instanceStatus) is lifted only by its UNFREEZE / NORMAL. frozen_reason says which.
 */

afterEach(() => {
  vi.useRealTimers();
});

const DAY = 86_400_000;

function v2Renewal(instanceId: string, expireAt: number) {
  const orderId = uniqueId("RN");
  return callV2({ activity: "refreshInstance", scene: "RENEWAL", orderId, orderLineId: `${orderId}-000001`, instanceId, expireTime: formatCompactUtc(expireAt) });
}

function v1Renewal(instanceId: string, expireAt: number) {
  return callV1({ activity: "refreshInstance", instanceId, orderId: uniqueId("RN"), expireTime: formatCompactUtc(expireAt), testFlag: "0" });
}

function v1Expire(instanceId: string, orderId: string) {
  return callV1({ activity: "expireInstance", instanceId, orderId, testFlag: "0" });
}

const eventTypes = async (instanceId: string) => (await eventsOf(instanceId)).map((e) => e.type);

describe("an expiry freeze (V1 expireInstance) is lifted by a renewal into the future", () => {
  it("V1 renewal: a past expiry leaves it frozen, a future one makes it active with an instance.unfrozen 'renewed'", async () => {
    const { instanceId, body } = await createInstance();
    const expired = await v1Expire(instanceId, body.orderId);
    expect(expired.json.resultCode).toBe("000000");
    expect(expired.bodySignValid).toBe(true);
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen", frozen_reason: "expired-v1" });
    // A frozen instance keeps its data through the freeze period (spec §3.4): queryInstance still answers.
    expect((await queryV2(instanceId)).json.resultCode).toBe("000000");

    // A renewal refund or a renewal that still ends in the past does not make the instance usable again.
    const past = await v1Renewal(instanceId, Date.now() - DAY);
    expect(past.json.resultCode).toBe("000000");
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen", frozen_reason: "expired-v1", expire_at: expect.any(Number) });

    const future = Date.now() + 365 * DAY;
    const renewed = await v1Renewal(instanceId, future);
    expect(renewed.json.resultCode).toBe("000000");
    expect(await stateOf(instanceId)).toMatchObject({ status: "active", frozen_reason: null, expire_at: Math.floor(future / 1000) * 1000 });

    const events = await eventsOf(instanceId);
    expect(events.map((e) => e.type)).toEqual([
      "instance.created",
      "instance.provisioned",
      "instance.frozen",
      "instance.renewed",
      "instance.renewed",
      "instance.unfrozen",
    ]);
    expect(events[2]?.data).toMatchObject({ reason: "expired-v1" });
    expect(events[5]?.data).toMatchObject({ reason: "renewed" });
    expect((await auditOf(instanceId)).slice(1)).toEqual([
      { event: "expireInstance", from_status: "active", to_status: "frozen" },
      { event: "refreshInstance", from_status: "frozen", to_status: "frozen" },
      { event: "refreshInstance", from_status: "frozen", to_status: "active" },
    ]);
  });

  it("V2 refreshInstance lifts a V1 expiry freeze too, and a repeat of the expiry freeze changes nothing", async () => {
    const { instanceId, body } = await createInstance();
    await v1Expire(instanceId, body.orderId);
    // V1 retries for an hour (spec §7): the same expiry again is a no-op.
    expect((await v1Expire(instanceId, body.orderId)).json.resultCode).toBe("000000");
    expect(await eventTypes(instanceId)).toEqual(["instance.created", "instance.provisioned", "instance.frozen"]);

    const renewed = await v2Renewal(instanceId, Date.now() + 30 * DAY);
    expect(renewed.json.resultCode).toBe("000000");
    expect(await stateOf(instanceId)).toMatchObject({ status: "active", frozen_reason: null });
    const events = await eventsOf(instanceId);
    expect(events.at(-1)).toMatchObject({ type: "instance.unfrozen", data: { reason: "renewed", status: "active" } });
  });
});

describe("the gateway's own expiry freeze is lifted by a renewal", () => {
  it("reconcileJob freezes with reason expired-gateway; a past renewal keeps it, a future one lifts it", async () => {
    const start = Date.now();
    const orderId = uniqueId("CS");
    const expireAt = Math.floor((start + 10 * 60_000) / 1000) * 1000;
    await controlOrders({ orders: { [orderId]: periodOrder(orderId, expireAt) } });
    const created = await callV2(newInstanceBody(orderId));
    expect(created.json.resultCode).toBe("000000");
    const instanceId = String(created.json.instanceId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "active", expire_at: expireAt });

    const now = expireAt + EXPIRY_GRACE_MS + 60_000;
    setClock(now);
    expect(await reconcileJob(env, now)).toMatchObject({ frozen: 1, freezeFailed: 0 });
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen", frozen_reason: "expired-gateway" });
    expect((await eventsOf(instanceId)).at(-1)).toMatchObject({ type: "instance.frozen", data: { reason: "expired-gateway" } });

    expect((await v2Renewal(instanceId, now - 60_000)).json.resultCode).toBe("000000");
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen", frozen_reason: "expired-gateway" });

    setClock(now + 60_000);
    expect((await v2Renewal(instanceId, now + 30 * DAY)).json.resultCode).toBe("000000");
    expect(await stateOf(instanceId)).toMatchObject({ status: "active", frozen_reason: null, expire_at: Math.floor((now + 30 * DAY) / 1000) * 1000 });
    expect((await eventsOf(instanceId)).at(-1)).toMatchObject({ type: "instance.unfrozen", data: { reason: "renewed" } });
    // The next run finds nothing to freeze: the expiry lies in the future again.
    expect(await reconcileJob(env, now + 2 * 60_000)).toMatchObject({ frozen: 0 });
    expect(await stateOf(instanceId)).toMatchObject({ status: "active" });
  });
});

describe("a Marketplace freeze is lifted only by its unfreeze", () => {
  it("V2 FREEZE: a renewal into the future leaves it frozen (reason marketplace); UNFREEZE lifts it", async () => {
    const { instanceId } = await createInstance();
    expect((await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" })).json.resultCode).toBe("000000");
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen", frozen_reason: "marketplace" });

    expect((await v2Renewal(instanceId, Date.now() + 365 * DAY)).json.resultCode).toBe("000000");
    expect((await v1Renewal(instanceId, Date.now() + 400 * DAY)).json.resultCode).toBe("000000");
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen", frozen_reason: "marketplace" });
    expect((await eventsOf(instanceId)).filter((e) => e.type === "instance.unfrozen")).toEqual([]);

    expect((await callV2({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" })).json.resultCode).toBe("000000");
    expect(await stateOf(instanceId)).toMatchObject({ status: "active", frozen_reason: null });
    expect((await eventsOf(instanceId)).at(-1)).toMatchObject({ type: "instance.unfrozen", data: { reason: "marketplace" } });
  });

  it("a Marketplace FREEZE on top of an expiry freeze makes it a Marketplace freeze; an expiry freeze on top changes nothing", async () => {
    const { instanceId, body } = await createInstance();
    await v1Expire(instanceId, body.orderId);
    await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" });
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen", frozen_reason: "marketplace" });
    await v1Expire(instanceId, body.orderId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen", frozen_reason: "marketplace" });
    await v2Renewal(instanceId, Date.now() + 365 * DAY);
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen", frozen_reason: "marketplace" });
    await callV2({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" });
    expect(await stateOf(instanceId)).toMatchObject({ status: "active", frozen_reason: null });
  });

  it("V1 instanceStatus FREEZE is a Marketplace freeze: a renewal keeps it, NORMAL lifts it", async () => {
    const { instanceId } = await createInstance();
    expect((await callV1({ activity: "instanceStatus", instanceId, instanceStatus: "FREEZE", testFlag: "0" })).json.resultCode).toBe("000000");
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen", frozen_reason: "marketplace" });
    await v1Renewal(instanceId, Date.now() + 365 * DAY);
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen", frozen_reason: "marketplace" });
    expect((await callV1({ activity: "instanceStatus", instanceId, instanceStatus: "NORMAL", testFlag: "0" })).json.resultCode).toBe("000000");
    expect(await stateOf(instanceId)).toMatchObject({ status: "active", frozen_reason: null });
  });
});
