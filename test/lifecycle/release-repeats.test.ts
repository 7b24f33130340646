import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { auditOf, callV1, eventsOf, stateOf } from "../support/lifecycle";
import { callV2, createInstance, uniqueId } from "../support/marketplace";

/*
 * Issue 9 point 2 (spec §3.5 "a repeated release must return success", §9 releaseInstance keyed by instanceId, §7 V1
 * expire/release retried for an hour): whatever a repeat carries, it answers 000000 and the release applies once.
 */

const released = async (instanceId: string) => (await eventsOf(instanceId)).filter((e) => e.type === "instance.released");
const auditEvents = async (instanceId: string, event: string) => (await auditOf(instanceId)).filter((row) => row.event === event);

async function releaseRows(instanceId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM inbox WHERE instance_id = ? AND activity = 'releaseInstance'").bind(instanceId).first<{ n: number }>();
  return row?.n ?? -1;
}

describe("V2 releaseInstance repeats", () => {
  it("with and without the unsubscription orderId/orderLineId, and with another one, each answer 000000; one release applies", async () => {
    const { instanceId } = await createInstance();
    const refund = uniqueId("UN");
    const bodies = [
      { activity: "releaseInstance", instanceId },
      { activity: "releaseInstance", instanceId, orderId: refund, orderLineId: `${refund}-000001` },
      { activity: "releaseInstance", instanceId, orderId: uniqueId("UN"), orderLineId: "other-000001" },
      { activity: "releaseInstance", instanceId },
    ];
    for (const body of bodies) {
      const answer = await callV2(body);
      expect(answer.status).toBe(200);
      expect(answer.bodySignValid).toBe(true);
      expect(answer.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    }
    expect(await stateOf(instanceId)).toMatchObject({ status: "released" });
    expect(await released(instanceId)).toHaveLength(1);
    expect(await auditEvents(instanceId, "releaseInstance")).toEqual([{ event: "releaseInstance", from_status: "active", to_status: "released" }]);
    expect(await releaseRows(instanceId)).toBe(1);
  });

  it("a release whose first answer came with the unsubscription order is answered the same when it comes without", async () => {
    const { instanceId } = await createInstance();
    const refund = uniqueId("UN");
    const first = await callV2({ activity: "releaseInstance", instanceId, orderId: refund, orderLineId: `${refund}-000001` });
    const bare = await callV2({ activity: "releaseInstance", instanceId });
    expect(bare.text).toBe(first.text);
    expect(await released(instanceId)).toHaveLength(1);
  });

  it("releases a frozen instance once, then repeats succeed", async () => {
    const { instanceId } = await createInstance();
    await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" });
    expect((await callV2({ activity: "releaseInstance", instanceId })).json.resultCode).toBe("000000");
    expect((await callV2({ activity: "releaseInstance", instanceId, orderId: uniqueId("UN"), orderLineId: "x-000001" })).json.resultCode).toBe("000000");
    expect(await stateOf(instanceId)).toMatchObject({ status: "released", frozen_reason: null });
    expect(await auditEvents(instanceId, "releaseInstance")).toEqual([{ event: "releaseInstance", from_status: "frozen", to_status: "released" }]);
  });

  it("saved debug cases with different bodies replay release on a debug instance: 000000 each, one release", async () => {
    const { instanceId } = await createInstance({ testFlag: "1" });
    const bodies = [
      { activity: "releaseInstance", instanceId, testFlag: "1" },
      { activity: "releaseInstance", instanceId, orderId: "MOCKMONTYUNSUBSCRIBE", orderLineId: "MOCKMONTYUNSUBSCRIBE-000001", testFlag: "1" },
      { activity: "releaseInstance", instanceId, testFlag: "1" },
    ];
    for (const body of bodies) expect((await callV2(body)).json.resultCode).toBe("000000");
    expect(await stateOf(instanceId)).toMatchObject({ status: "released", is_test: 1 });
    expect(await released(instanceId)).toHaveLength(1);
    expect(await auditEvents(instanceId, "releaseInstance")).toHaveLength(1);
  });
});

describe("V1 releaseInstance and expireInstance repeats", () => {
  it("expireInstance repeated with new timeStamps and another orderId answers 000000; one freeze applies", async () => {
    const { instanceId, body } = await createInstance();
    const calls: Array<Record<string, string>> = [
      { activity: "expireInstance", instanceId, orderId: body.orderId, testFlag: "0" },
      { activity: "expireInstance", instanceId, orderId: body.orderId, testFlag: "0" },
      { activity: "expireInstance", instanceId, orderId: uniqueId("CS"), testFlag: "0" },
      { activity: "expireInstance", instanceId, orderId: body.orderId },
    ];
    for (const params of calls) {
      const answer = await callV1(params);
      expect(answer.bodySignValid).toBe(true);
      expect(answer.json.resultCode).toBe("000000");
    }
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen", frozen_reason: "expired-v1" });
    expect((await eventsOf(instanceId)).filter((e) => e.type === "instance.frozen")).toHaveLength(1);
    expect(await auditEvents(instanceId, "expireInstance")).toHaveLength(1);
  });

  it("releaseInstance repeated with another orderId, with and without orderAmount, answers 000000; one release applies", async () => {
    const { instanceId, body } = await createInstance();
    await callV1({ activity: "expireInstance", instanceId, orderId: body.orderId, testFlag: "0" });
    const calls: Array<Record<string, string>> = [
      { activity: "releaseInstance", instanceId, orderId: body.orderId, testFlag: "0" },
      { activity: "releaseInstance", instanceId, orderId: body.orderId, orderAmount: "-12.5", testFlag: "0" },
      { activity: "releaseInstance", instanceId, orderId: uniqueId("CS"), testFlag: "0" },
      { activity: "releaseInstance", instanceId, orderId: body.orderId },
    ];
    for (const params of calls) {
      const answer = await callV1(params);
      expect(answer.bodySignValid).toBe(true);
      expect(answer.json.resultCode).toBe("000000");
    }
    expect(await stateOf(instanceId)).toMatchObject({ status: "released" });
    expect(await released(instanceId)).toHaveLength(1);
    expect(await auditEvents(instanceId, "releaseInstance")).toEqual([{ event: "releaseInstance", from_status: "frozen", to_status: "released" }]);
    // Either dialect after the other: the instance is gone, the answer is still success.
    expect((await callV2({ activity: "releaseInstance", instanceId })).json.resultCode).toBe("000000");
    expect(await released(instanceId)).toHaveLength(1);
  });
});
