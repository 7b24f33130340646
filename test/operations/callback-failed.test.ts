import { describe, expect, it } from "vitest";
import { makeNewInstance, send, signedV2Request, uniqueId } from "../support/marketplace";
import { controlOrders } from "../support/orders";
import { problemCount, problemRows, waitForProblems } from "../support/problems";

/*
 * callback.failed: a Marketplace call that passed signature verification and was answered other than 000000 (or the
 * create/query 000004) opens a problem with the instance's timeline link. A refused call opens nothing: no outsider
 * can raise a problem or an alert.
 */

/** Background work of earlier calls has had time to land: what is not there by now was never written. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe("callback.failed", () => {
  it("opens when a verified call is answered with an error code, with the instance's timeline link, and counts repeats", async () => {
    const instanceId = uniqueId("UNKNOWN");
    const body = { activity: "refreshInstance", instanceId, orderId: uniqueId("CS"), orderLineId: "l-1", scene: "RENEWAL", expireTime: "20300101000000" };
    const answer = await send(signedV2Request(body));
    expect(answer.json.resultCode).toBe("000003");
    const [row] = await waitForProblems("callback.failed", instanceId, (rows) => rows.length === 1);
    expect(row).toMatchObject({ severity: "critical", count: 1, resolved_at: null });
    expect(row?.summary).toMatch(/refreshInstance answered 000003/);
    expect(row?.detail).toContain(`/admin#instance=${instanceId}`);
    expect(row?.detail).toContain(`/admin/api/instances/${instanceId}/timeline`);
    await send(signedV2Request(body));
    await waitForProblems("callback.failed", instanceId, (rows) => rows.length === 1 && rows[0]?.count === 2);
  });

  it("opens for a verified call whose body the schema refuses (000002), under its endpoint and activity", async () => {
    const answer = await send(signedV2Request({ activity: "newInstance", orderId: uniqueId("CS"), businessId: "b" }));
    expect(answer.json.resultCode).toBe("000002");
    const rows = await waitForProblems("callback.failed", "v2-basic newInstance", (found) => found.length >= 1);
    expect(rows[0]?.summary).toMatch(/newInstance answered 000002/);
  });

  it.each([
    ["a bad signature", () => signedV2Request(makeNewInstance(), { key: "not-the-key" })],
    ["a stale timestamp", () => signedV2Request(makeNewInstance(), { timestamp: Date.now() - 61_000 })],
    ["no signature at all", () => new Request("https://gateway.test/saas", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(makeNewInstance()) })],
  ])("opens nothing for %s", async (_case, request) => {
    const before = await problemCount();
    const answer = await send(request());
    expect(answer.json.resultCode).toBe("000001");
    await settle();
    expect(await problemCount()).toBe(before);
  });

  it("opens nothing for a replay, nor for the successful call it repeats", async () => {
    const request = signedV2Request(makeNewInstance({ testFlag: "1" }));
    const replay = request.clone();
    const before = await problemCount();
    expect((await send(request)).json.resultCode).toBe("000000");
    expect((await send(replay)).json.resultCode).toBe("000001");
    await settle();
    expect(await problemCount()).toBe(before);
  });

  it("opens nothing for a purchase answered 000004 while its order is fetched", async () => {
    const body = makeNewInstance();
    await controlOrders({ failOrders: { [body.orderId]: 1 } });
    const answer = await send(signedV2Request(body));
    expect(answer.json.resultCode).toBe("000004");
    await settle();
    expect(await problemRows("callback.failed", String(answer.json.instanceId))).toEqual([]);
  });
});
