import { describe, expect, it } from "vitest";
import { callGeneral, callV2, makeNewInstance, uniqueId } from "../support/marketplace";
import { keyOf, makeOrderNotify, runOrderFetchNow, waitForGeneralOrder } from "../support/general-orders";
import { callLicense, licenseRequest, steerUploads } from "../support/licenses";
import { queryOrderInfo } from "../support/orders";
import { controlOrders, newInstanceBody, runDueOrderFetches, stateOf } from "../support/lifecycle";
import { sellerBackend } from "../support/seller-backend";
import { allDelivered, makeDueAndRunAlarm, makePurchase, waitForOutbox } from "../support/webhook-delivery";
import { openOne, problemRows, resolvedAll, waitForProblems } from "../support/problems";

/*
 * The problems the instance actor reports, each opened by the fake Marketplace or the fake seller backend failing and
 * resolved when it recovers (clearing kinds) or left for a person (final outcomes).
 */

/** The test webhook URL's origin (vitest.workers.ts): delivery problems are about the backend as a whole. */
const BACKEND = "http://127.0.0.1:9";

describe("query_order.failing", () => {
  it("opens when query order fails three times in a row for a purchase, counts further failures, and clears once it answers", async () => {
    const orderId = uniqueId("CS");
    await controlOrders({ failOrders: { [orderId]: 4 } });
    const answer = await callV2(newInstanceBody(orderId));
    expect(answer.json.resultCode).toBe("000004");
    const instanceId = String(answer.json.instanceId);
    await runDueOrderFetches(instanceId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Two failures (the first try within the answer, one retry): not yet a problem.
    expect(await problemRows("query_order.failing", instanceId)).toEqual([]);
    await runDueOrderFetches(instanceId);
    const [opened] = await waitForProblems("query_order.failing", instanceId, openOne);
    expect(opened).toMatchObject({ severity: "critical", count: 1 });
    expect(opened?.summary).toMatch(new RegExp(`order ${orderId} fails after 3 attempts.*refunds it unless provisioned by`));
    await runDueOrderFetches(instanceId);
    await waitForProblems("query_order.failing", instanceId, (rows) => rows[0]?.count === 2);
    await runDueOrderFetches(instanceId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "active" });
    const [cleared] = await waitForProblems("query_order.failing", instanceId, resolvedAll);
    expect(cleared).toMatchObject({ resolved_by: "gateway", count: 2 });
  });
});

describe("provisioning.failed", () => {
  it("opens when a purchase fails, and stays open: a final outcome", async () => {
    const orderId = uniqueId("CS");
    // An order query order cannot use: a final error, so the background attempt gives up and the purchase fails.
    await controlOrders({ orders: { [orderId]: { orderType: "NEW" } } });
    const answer = await callV2(newInstanceBody(orderId));
    const instanceId = String(answer.json.instanceId);
    await runDueOrderFetches(instanceId);
    expect(await stateOf(instanceId)).toMatchObject({ status: "failed" });
    const [row] = await waitForProblems("provisioning.failed", instanceId, openOne);
    expect(row?.summary).toMatch(new RegExp(`Purchase of order ${orderId} failed \\(000005`));
    expect(row?.detail).toContain(`/admin/api/instances/${instanceId}/retry-provisioning`);
  });
});

describe("delivery.failing and delivery.failed", () => {
  it("opens delivery.failing on an event's third failed attempt and clears when the backend acknowledges again", async () => {
    const { body, instanceId } = makePurchase();
    await sellerBackend.failTimes(instanceId, 3);
    expect((await callV2(body)).json.resultCode).toBe("000000");
    await waitForOutbox(instanceId, (rows) => rows[0]?.attempts === 1);
    await makeDueAndRunAlarm(instanceId);
    await waitForOutbox(instanceId, (rows) => rows[0]?.attempts === 2);
    await makeDueAndRunAlarm(instanceId);
    const [opened] = await waitForProblems("delivery.failing", BACKEND, openOne);
    expect(opened?.summary).toMatch(/Webhooks to http:\/\/127\.0\.0\.1:9 fail \(HTTP 500\)/);
    expect(opened?.severity).toBe("warning");
    await makeDueAndRunAlarm(instanceId);
    await waitForOutbox(instanceId, allDelivered(2));
    const [cleared] = await waitForProblems("delivery.failing", BACKEND, resolvedAll);
    expect(cleared?.resolved_by).toBe("gateway");
  });

  it("opens delivery.failed when a delivery is marked failed for good", async () => {
    const { body, instanceId } = makePurchase();
    await sellerBackend.failTimes(instanceId, 2);
    expect((await callV2(body)).json.resultCode).toBe("000000");
    await waitForOutbox(instanceId, (rows) => rows[0]?.attempts === 1);
    await makeDueAndRunAlarm(instanceId, { deliverBy: Date.now() - 1 });
    const rows = await waitForOutbox(instanceId, (found) => found[0]?.state === "failed");
    const [row] = await waitForProblems("delivery.failed", BACKEND, (found) => found.some((problem) => problem.detail.includes(rows[0]?.id ?? "?")));
    expect(row?.summary).toMatch(/failed for good: instance\.created/);
    expect(row?.resolved_at).toBeNull();
  });
});

describe("license.delivery_failed", () => {
  it("opens when an online license fails for good (the Marketplace refused its upload)", async () => {
    const body = makeNewInstance();
    await controlOrders({ orders: { [body.orderId]: queryOrderInfo(body.orderId, [{ productId: "OFFI000000001" }]) } });
    const instanceId = String((await callV2(body)).json.instanceId);
    const request = licenseRequest(instanceId);
    await steerUploads(request.eventId, [{ status: 200, code: "91381037" }]);
    expect((await callLicense(request)).json.resultCode).toBe("000005");
    const [row] = await waitForProblems("license.delivery_failed", instanceId, openOne);
    expect(row).toMatchObject({ severity: "critical" });
    expect(row?.summary).toMatch(new RegExp(`Online license ${request.eventId} could not be delivered \\(91381037`));
  });
});

describe("query_order.failing of a general product's order line", () => {
  it("opens on the third failed query order of the line and clears once the order is fetched", async () => {
    const body = makeOrderNotify();
    const key = keyOf(body);
    const subject = `order ${body.orderId} line ${body.orderLineId}`;
    await controlOrders({ failOrders: { [body.orderId]: 3 } });
    expect((await callGeneral(body)).json.resultCode).toBe("000000");
    await waitForGeneralOrder(key, (row) => row.fetch_attempts >= 1);
    await runOrderFetchNow(key);
    await waitForGeneralOrder(key, (row) => row.fetch_attempts >= 2);
    expect(await problemRows("query_order.failing", subject)).toEqual([]);
    await runOrderFetchNow(key);
    const [opened] = await waitForProblems("query_order.failing", subject, openOne);
    expect(opened?.summary).toMatch(/general order .* fails after 3 attempts.*order\.notified waits/);
    await runOrderFetchNow(key);
    await waitForGeneralOrder(key, (row) => row.state === "fetched");
    await waitForProblems("query_order.failing", subject, resolvedAll);
  });
});
