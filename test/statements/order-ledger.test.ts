import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { ORDER_FETCH_MAX_ATTEMPTS } from "../../src/instances/order-fetch";
import { type StatementOrderLine, orderLinesCreatedBetween } from "../../src/statements/order-lines";
import { PROVISIONING_WINDOW_MS } from "../../src/instances/provisioning-window";
import { callLicense, makeRefresh, makeRelease, newLicenseCode } from "../support/license-codes";
import { agePurchase, newInstanceBody, runAlarmNow } from "../support/lifecycle";
import { settleBackgroundWork } from "../support/background-work";
import { callGeneral, callV2, createInstance, expireTime, instanceRow, runOrderFetchesNow, uniqueId } from "../support/marketplace";
import { controlOrders, queryOrderInfo } from "../support/orders";

/*
 * The statement's ledger (issue 22): every renewal, upgrade, unsubscription and license order the gateway is told of
 * has its order fetched in the background, with the amounts query order gives, exact.
 */

interface OrderRow {
  order_id: string;
  activity: string;
  fetch_state: string;
  fetch_attempts: number;
  last_error: string | null;
  order_type: string | null;
  amount: string | null;
  list_amount: string | null;
  order_created_at: number | null;
}

const inOneYear = () => expireTime(new Date(Date.now() + 365 * 86_400_000));

/** The stored row of an order once `done` holds for it (the fetch runs in an alarm after the answer). */
async function waitForRow(table: "orders" | "license_code_orders", orderId: string, done: (row: OrderRow) => boolean = (row) => row.fetch_state !== "pending"): Promise<OrderRow | null> {
  let row: OrderRow | null = null;
  for (let i = 0; i < 100; i++) {
    row = await env.DB.prepare(`SELECT * FROM ${table} WHERE order_id = ?`).bind(orderId).first<OrderRow>();
    if (row && done(row)) return row;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return row;
}

async function queryOrderCalls(orderId: string): Promise<number> {
  const calls = (await (await fetch(`${env.MARKETPLACE_API_BASE}/__control/calls`)).json()) as Array<{ path: string; query: string }>;
  return calls.filter((c) => c.path.endsWith("/order/query") && c.query.includes(orderId)).length;
}

function renewal(instanceId: string, scene = "RENEWAL") {
  const orderId = uniqueId("RN");
  return { activity: "refreshInstance", scene, orderId, orderLineId: `${orderId}-000001`, instanceId, expireTime: inOneYear() };
}

const lineOf = (lines: StatementOrderLine[], orderId: string) => lines.find((l) => l.orderId === orderId);

describe("orders fetched for the statement", () => {
  it("a renewal's order is fetched after the answer, its amounts kept as exact decimal text, the instance untouched", async () => {
    const { instanceId } = await createInstance();
    const body = renewal(instanceId);
    await controlOrders({ orders: { [body.orderId]: queryOrderInfo(body.orderId, [{ amount: "0.10", listAmount: "0.20" }], { orderType: "RENEW", createTime: "20261031163000" }) } });
    const answer = await callV2(body);
    expect(answer.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    const versionAfterRenewal = (await instanceRow(instanceId))?.version;
    await runOrderFetchesNow(instanceId);
    const row = await waitForRow("orders", body.orderId);
    expect(row).toMatchObject({ fetch_state: "fetched", activity: "refreshInstance:RENEWAL", order_type: "RENEW", amount: "0.10", list_amount: "0.20", order_created_at: Date.UTC(2026, 9, 31, 16, 30, 0), last_error: null });
    // A record changes nothing about the instance: no new version, no orderFetched audit row.
    expect((await instanceRow(instanceId))?.version).toBe(versionAfterRenewal);
    const audit = await env.DB.prepare("SELECT event FROM audit_events WHERE instance_id = ? ORDER BY seq").bind(instanceId).all<{ event: string }>();
    expect(audit.results.map((r) => r.event)).toEqual(["newInstance", "refreshInstance"]);
  });

  it("a trial-to-paid and a renewal refund are fetched too; the refund is negative on the ledger", async () => {
    const { instanceId } = await createInstance();
    const trial = renewal(instanceId, "TRIAL_TO_FORMAL");
    const refund = renewal(instanceId, "UNSUBSCRIBE_RENEWAL_PERIOD");
    await controlOrders({
      orders: {
        [trial.orderId]: queryOrderInfo(trial.orderId, [{ amount: "12.30" }], { orderType: "TRIAL_TO_FORMAL" }),
        // The document does not say which orderType a renewal refund has: the scene alone makes it a refund.
        [refund.orderId]: queryOrderInfo(refund.orderId, [{ amount: "12.30", listAmount: "15.00" }], { orderType: "RENEW" }),
      },
    });
    expect((await callV2(trial)).json.resultCode).toBe("000000");
    expect((await callV2(refund)).json.resultCode).toBe("000000");
    await runOrderFetchesNow(instanceId);
    expect(await waitForRow("orders", trial.orderId)).toMatchObject({ fetch_state: "fetched", amount: "12.30" });
    expect(await waitForRow("orders", refund.orderId)).toMatchObject({ fetch_state: "fetched", amount: "12.30" });
    const lines = await orderLinesCreatedBetween(getDb(env), Date.UTC(2026, 10, 1), Date.UTC(2026, 10, 2));
    expect(lineOf(lines, trial.orderId)).toMatchObject({ amount: "12.30", refund: false, instanceId });
    expect(lineOf(lines, refund.orderId)).toMatchObject({ amount: "-12.30", listAmount: "-15.00", refund: true, activity: "refreshInstance:UNSUBSCRIBE_RENEWAL_PERIOD" });
  });

  it("an upgrade's order is stored with its amounts", async () => {
    const { instanceId } = await createInstance();
    const orderId = uniqueId("UP");
    await controlOrders({ orders: { [orderId]: queryOrderInfo(orderId, [{ skuCode: "SKU-PRO", amount: 33.3, listAmount: "40" }], { orderType: "CHANGE" }) } });
    expect((await callV2({ activity: "upgradeInstance", instanceId, orderId, orderLineId: `${orderId}-000001` })).json.resultCode).toBe("000000");
    await runOrderFetchesNow(instanceId);
    // A JSON number becomes the decimal JSON gave, not a float's expansion.
    expect(await waitForRow("orders", orderId)).toMatchObject({ fetch_state: "fetched", order_type: "CHANGE", amount: "33.3", list_amount: "40" });
    expect(await instanceRow(instanceId)).toMatchObject({ sku_code: "SKU-PRO" });
  });

  it("an unsubscription's refund order is fetched and shows negative; a release naming no order fetches nothing", async () => {
    const { instanceId } = await createInstance();
    const orderId = uniqueId("UN");
    await controlOrders({ orders: { [orderId]: queryOrderInfo(orderId, [{ amount: "90.00", listAmount: "100.00" }], { orderType: "UNSUBSCRIBE" }) } });
    expect((await callV2({ activity: "releaseInstance", instanceId, orderId, orderLineId: `${orderId}-000001` })).json.resultCode).toBe("000000");
    await runOrderFetchesNow(instanceId);
    expect(await waitForRow("orders", orderId)).toMatchObject({ fetch_state: "fetched", activity: "releaseInstance", amount: "90.00" });
    const lines = await orderLinesCreatedBetween(getDb(env), Date.UTC(2026, 10, 1), Date.UTC(2026, 10, 2));
    expect(lineOf(lines, orderId)).toMatchObject({ source: "instance", orderType: "UNSUBSCRIBE", amount: "-90.00", listAmount: "-100.00", refund: true });

    const other = await createInstance();
    expect((await callV2({ activity: "releaseInstance", instanceId: other.instanceId })).json.resultCode).toBe("000000");
    const orders = await env.DB.prepare("SELECT order_id FROM orders WHERE instance_id = ?").bind(other.instanceId).all<{ order_id: string }>();
    expect(orders.results.map((r) => r.order_id)).toEqual([other.body.orderId]);
  });

  it("a malformed amount is stored as null with the reason; the rest of the order is kept", async () => {
    const { instanceId } = await createInstance();
    const body = renewal(instanceId);
    await controlOrders({ orders: { [body.orderId]: queryOrderInfo(body.orderId, [{ amount: "12,50", listAmount: "1e3" }], { orderType: "RENEW" }) } });
    await callV2(body);
    await runOrderFetchesNow(instanceId);
    const row = await waitForRow("orders", body.orderId);
    expect(row).toMatchObject({ fetch_state: "fetched", order_type: "RENEW", amount: null, list_amount: null });
    expect(row?.last_error).toMatch(/currencyAfterDiscount: not a decimal.*currency: not a decimal/);
  });

  it("a renewal whose order keeps failing gives up after ORDER_FETCH_MAX_ATTEMPTS with the reason, and the ledger says so", async () => {
    const { instanceId } = await createInstance();
    const body = renewal(instanceId);
    await controlOrders({ failOrders: { [body.orderId]: ORDER_FETCH_MAX_ATTEMPTS + 5 } });
    expect((await callV2(body)).json.resultCode).toBe("000000");
    await runOrderFetchesNow(instanceId);
    expect(await waitForRow("orders", body.orderId, (row) => row.fetch_attempts >= 1)).toMatchObject({ fetch_state: "pending" });
    // Straight to the last attempt: the schedule between attempts is order-fetch.ts's, tested with the purchases.
    await runInDurableObject(env.INSTANCES.get(env.INSTANCES.idFromName(instanceId)), (_actor, state) => {
      const pending = state.storage.kv.get<Array<{ orderId: string; attempts: number }>>("orderFetches") ?? [];
      state.storage.kv.put("orderFetches", pending.map((p) => (p.orderId === body.orderId ? { ...p, attempts: ORDER_FETCH_MAX_ATTEMPTS - 1 } : p)));
    });
    await runOrderFetchesNow(instanceId);
    const row = await waitForRow("orders", body.orderId, (r) => r.fetch_state === "failed");
    expect(row).toMatchObject({ fetch_state: "failed", fetch_attempts: ORDER_FETCH_MAX_ATTEMPTS, amount: null });
    expect(row?.last_error).toMatch(/injected failure/);
    const lines = await orderLinesCreatedBetween(getDb(env), Date.now() - 60_000, Date.now() + 60_000);
    expect(lineOf(lines, body.orderId)).toMatchObject({ amount: null, fetchState: "failed", createTimeKnown: false, lastError: row?.last_error });
    // The instance's problems are about the buyer's purchase: a record that failed is not one of them.
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM problems WHERE subject = ?").bind(instanceId).first<{ n: number }>()).toEqual({ n: 0 });
    await controlOrders({ failOrders: { [body.orderId]: 0 } });
  });

  it("debug calls never ask query order and record nothing for the statement", async () => {
    const debug = await createInstance({ testFlag: "1" });
    const renew = { ...renewal(debug.instanceId), testFlag: "1" };
    const releaseOrder = uniqueId("UN");
    expect((await callV2(renew)).json.resultCode).toBe("000000");
    expect((await callV2({ activity: "releaseInstance", instanceId: debug.instanceId, orderId: releaseOrder, orderLineId: `${releaseOrder}-000001`, testFlag: "1" })).json.resultCode).toBe("000000");
    const code = newLicenseCode();
    const licenseRenewal = makeRefresh(code, { testFlag: "1" });
    expect((await callLicense(licenseRenewal)).json.resultCode).toBe("000000");
    await runOrderFetchesNow(debug.instanceId);
    await runDurableObjectAlarm(env.LICENSE_CODES.get(env.LICENSE_CODES.idFromName(code)));
    for (const orderId of [renew.orderId, releaseOrder, licenseRenewal.orderId]) expect(await queryOrderCalls(orderId)).toBe(0);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM orders WHERE instance_id = ?").bind(debug.instanceId).first<{ n: number }>();
    expect(rows?.n).toBe(0);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM license_code_orders WHERE code = ?").bind(code).first<{ n: number }>()).toEqual({ n: 0 });
  });
});

describe("license-code orders", () => {
  it("a license renewal and an unsubscription are recorded in the callback's batch and fetched after the answer", async () => {
    const code = newLicenseCode();
    const renew = makeRefresh(code);
    await controlOrders({ orders: { [renew.orderId]: queryOrderInfo(renew.orderId, [{ amount: "0.20", listAmount: "0.30" }], { orderType: "RENEW", createTime: "20261031155959" }) } });
    expect((await callLicense(renew)).json.resultCode).toBe("000000");
    expect(await waitForRow("license_code_orders", renew.orderId)).toMatchObject({ fetch_state: "fetched", activity: "refreshLicenseCode:RENEWAL", order_type: "RENEW", amount: "0.20", list_amount: "0.30", order_created_at: Date.UTC(2026, 9, 31, 15, 59, 59) });
    // A repeat names the same order: one row, fetched once.
    expect((await callLicense(renew)).json.resultCode).toBe("000000");
    expect(await queryOrderCalls(renew.orderId)).toBe(1);

    const unsubscribe = uniqueId("UN");
    await controlOrders({ orders: { [unsubscribe]: queryOrderInfo(unsubscribe, [{ amount: "0.20" }], { orderType: "UNSUBSCRIBE" }) } });
    expect((await callLicense(makeRelease(code, { orderId: unsubscribe, orderLineId: `${unsubscribe}-000001` }))).json.resultCode).toBe("000000");
    expect(await waitForRow("license_code_orders", unsubscribe)).toMatchObject({ fetch_state: "fetched", activity: "releaseLicenseCode", amount: "0.20" });
    const lines = await orderLinesCreatedBetween(getDb(env), Date.UTC(2026, 9, 31, 0, 0, 0), Date.UTC(2026, 10, 2));
    expect(lineOf(lines, renew.orderId)).toMatchObject({ source: "license", instanceId: code, amount: "0.20", refund: false });
    expect(lineOf(lines, unsubscribe)).toMatchObject({ source: "license", instanceId: code, amount: "-0.20", refund: true });
  });

  it("a license order that keeps failing gives up with the reason", async () => {
    const code = newLicenseCode();
    const renew = makeRefresh(code);
    await controlOrders({ failOrders: { [renew.orderId]: ORDER_FETCH_MAX_ATTEMPTS + 5 } });
    expect((await callLicense(renew)).json.resultCode).toBe("000000");
    expect(await waitForRow("license_code_orders", renew.orderId, (row) => row.fetch_attempts >= 1)).toMatchObject({ fetch_state: "pending", fetch_attempts: 1 });
    await env.DB.prepare("UPDATE license_code_orders SET fetch_attempts = ?, next_fetch_at = ? WHERE order_id = ?").bind(ORDER_FETCH_MAX_ATTEMPTS - 1, Date.now(), renew.orderId).run();
    await runDurableObjectAlarm(env.LICENSE_CODES.get(env.LICENSE_CODES.idFromName(code)));
    const row = await waitForRow("license_code_orders", renew.orderId, (r) => r.fetch_state === "failed");
    expect(row).toMatchObject({ fetch_state: "failed", fetch_attempts: ORDER_FETCH_MAX_ATTEMPTS, amount: null });
    expect(row?.last_error).toMatch(/injected failure/);
    await controlOrders({ failOrders: { [renew.orderId]: 0 } });
  });
});

describe("general orders", () => {
  it("a notification naming no line stands for the whole order: its amount is the exact sum of every line's", async () => {
    const orderId = uniqueId("GO");
    await controlOrders({ orders: { [orderId]: queryOrderInfo(orderId, [{ amount: "0.10", listAmount: "0.10" }, { amount: "0.20", listAmount: "0.25" }]) } });
    expect((await callGeneral({ activity: "orderNotify", orderId, testFlag: "0" })).json.resultCode).toBe("000000");
    await settleBackgroundWork();
    const row = await env.DB.prepare("SELECT state, amount, list_amount, last_error FROM general_orders WHERE order_id = ?").bind(orderId).first();
    expect(row).toEqual({ state: "fetched", amount: "0.3", list_amount: "0.35", last_error: null });
  });
});

describe("orderLinesCreatedBetween", () => {
  it("takes createTime in [from, to): 2026-10-31T16:30Z is November in China time; debug orders are left out", async () => {
    // November 2026 in Asia/Shanghai (UTC+8): the statement helper computes these bounds.
    const from = Date.UTC(2026, 9, 31, 16, 0, 0);
    const to = Date.UTC(2026, 10, 30, 16, 0, 0);
    const atFrom = uniqueId("CS");
    const lateOctoberUtc = uniqueId("CS");
    const atTo = uniqueId("CS");
    const justBefore = uniqueId("CS");
    await controlOrders({
      orders: {
        [atFrom]: queryOrderInfo(atFrom, [{}], { createTime: "20261031160000" }),
        [lateOctoberUtc]: queryOrderInfo(lateOctoberUtc, [{ amount: "0.10" }], { createTime: "20261031163000" }),
        [atTo]: queryOrderInfo(atTo, [{}], { createTime: "20261130160000" }),
        [justBefore]: queryOrderInfo(justBefore, [{}], { createTime: "20261031155959" }),
      },
    });
    const created = [];
    for (const orderId of [atFrom, lateOctoberUtc, atTo, justBefore]) created.push(await createInstance({ orderId, orderLineId: `${orderId}-000001` }));
    const debug = await createInstance({ testFlag: "1" });
    // A real and a debug general order: the debug one is never fetched and never on the ledger.
    const general = uniqueId("GO");
    await controlOrders({ orders: { [general]: queryOrderInfo(general, [{ amount: "5.55", productId: "OFFI-GEN" }], { createTime: "20261115000000" }) } });
    expect((await callGeneral({ activity: "orderNotify", orderId: general, orderLineId: `${general}-000001`, testFlag: "0" })).json.resultCode).toBe("000000");
    expect((await callGeneral({ activity: "orderNotify", orderId: `${general}D`, orderLineId: `${general}D-000001`, testFlag: "1" })).json.resultCode).toBe("000000");
    await settleBackgroundWork();

    const lines = (await orderLinesCreatedBetween(getDb(env), from, to)).filter((l) => [atFrom, lateOctoberUtc, atTo, justBefore, general, `${general}D`, debug.body.orderId].includes(l.orderId));
    expect(lines.map((l) => l.orderId)).toEqual([atFrom, lateOctoberUtc, general]);
    expect(lineOf(lines, lateOctoberUtc)).toEqual({
      source: "instance",
      orderId: lateOctoberUtc,
      orderLineId: `${lateOctoberUtc}-000001`,
      orderType: "NEW",
      chargingMode: "PERIOD",
      productId: "OFFI000000001",
      skuCode: "SKU-STD",
      instanceId: created[1]?.instanceId,
      amount: "0.10",
      listAmount: "100.00",
      createdAt: Date.UTC(2026, 9, 31, 16, 30, 0),
      createTimeKnown: true,
      fetchState: "fetched",
      lastError: null,
      activity: "newInstance",
      refund: false,
      refundedAfterWindow: false,
    });
    expect(lineOf(lines, general)).toMatchObject({ source: "general", instanceId: null, productId: "OFFI-GEN", amount: "5.55", fetchState: "fetched" });
    // The next month starts where this one ends: each line is in exactly one.
    const december = await orderLinesCreatedBetween(getDb(env), to, Date.UTC(2026, 11, 31, 16, 0, 0));
    expect(december.map((l) => l.orderId).filter((id) => [atFrom, lateOctoberUtc, atTo, justBefore].includes(id))).toEqual([atTo]);
  });

  it("a purchase that failed when the Marketplace's 3-hour window closed is flagged refundedAfterWindow, with the reason", async () => {
    const orderId = uniqueId("CS");
    await controlOrders({ failOrders: { [orderId]: 1_000 } });
    const first = await callV2(newInstanceBody(orderId));
    expect(first.json.resultCode).toBe("000004");
    const instanceId = String(first.json.instanceId);
    await agePurchase(instanceId, PROVISIONING_WINDOW_MS + 1_000);
    await runAlarmNow(instanceId);
    const lines = await orderLinesCreatedBetween(getDb(env), Date.now() - 2 * PROVISIONING_WINDOW_MS, Date.now() + 60_000);
    expect(lineOf(lines, orderId)).toMatchObject({ source: "instance", instanceId, amount: null, fetchState: "failed", refundedAfterWindow: true, lastError: expect.stringContaining("3-hour window") });
    await controlOrders({ failOrders: { [orderId]: 0 } });
  });
});
