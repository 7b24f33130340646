import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { settingsProblems } from "../../src/env";
import { adminCall } from "../support/admin";
import { setClock } from "../support/billing";
import { createInstance, rowCounts, uniqueId } from "../support/marketplace";
import { controlOrders, queryOrderInfo } from "../support/orders";
import { sellerRequest } from "../support/seller-api";
import { exports } from "cloudflare:workers";

/*
 * Statements (issue 22): a month in China time, with a purchase, a renewal, an upgrade, a refund, usage and debug data
 * left out; its CSV; and its reconciliation with an exported bill. Purchases are signed like the Marketplace's, their
 * order answered by the test Marketplace; later orders and usage records are written as the fetches and the roll-up
 * write them.
 */

const HOUR = 3_600_000;
/** "20261031163000": query order's createTime (UTC). */
const createTime = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14);

async function purchase(createdAt: number, line: { amount: string; listAmount?: string; productId?: string; skuCode?: string; chargingMode?: string }, testFlag?: "1") {
  const orderId = uniqueId("ST");
  await controlOrders({ orders: { [orderId]: queryOrderInfo(orderId, [line], { createTime: createTime(createdAt) }) } });
  const { instanceId } = await createInstance({ orderId, orderLineId: `${orderId}-000001`, ...(testFlag ? { testFlag } : {}) });
  return { orderId, instanceId };
}

interface LaterOrder {
  activity: string;
  orderType: string;
  amount: string | null;
  listAmount?: string;
  createdAt: number;
  skuCode?: string;
  productId?: string;
}

/** An order a renewal, upgrade or release named, as its background fetch stores it. */
async function laterOrder(instanceId: string, order: LaterOrder): Promise<string> {
  const orderId = uniqueId("LT");
  await env.DB.prepare(
    `INSERT INTO orders (order_id, order_line_id, instance_id, activity, fetch_state, fetch_attempts, order_type, product_id, sku_code,
      charging_mode, amount, list_amount, order_created_at, last_error, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, 'PERIOD', ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      orderId,
      `${orderId}-000001`,
      instanceId,
      order.activity,
      order.amount === null ? "failed" : "fetched",
      order.orderType,
      order.productId ?? "OFFI000000001",
      order.skuCode ?? "SKU-STD",
      order.amount,
      order.listAmount ?? order.amount,
      order.createdAt,
      order.amount === null ? "query order failed 10 times: HTTP 500" : null,
      order.createdAt,
      order.createdAt,
    )
    .run();
  return orderId;
}

/** A usage record of one hour, in the state the push left it. */
async function usageHour(instanceId: string, hourBegin: number, units: number, state: string, productId = "PROD-PPU"): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO usage_records (metering_sn, instance_id, product_id, period, period_begin, begin_time, end_time, cover_from,
      cover_to, usage_units, usage_value, event_count, late_units, correction_of, state, attempts, next_attempt_at, deadline,
      warn_at, rollup_token, created_at, updated_at)
     VALUES (?, ?, ?, 'hourly', ?, ?, ?, ?, ?, ?, '0', 1, 0, NULL, ?, 1, ?, ?, ?, 'test', ?, ?)`,
  )
    .bind(uniqueId("SN"), instanceId, productId, hourBegin, hourBegin, hourBegin + HOUR, hourBegin, hourBegin + HOUR, units, state, hourBegin, hourBegin + 3 * HOUR, hourBegin + 2 * HOUR, hourBegin, hourBegin)
    .run();
}

const NOV_START = Date.UTC(2026, 9, 31, 16); // 1 November 2026 00:00 in Shanghai

/**
 * November 2026: a purchase at 00:30 on 1 November China time (16:30 UTC the day before), its renewal, an upgrade and
 * a renewal refund; a pay-per-use instance with usage in every state; one purchase and one usage hour on 31 October
 * 23:xx China time; a debug purchase with usage.
 */
async function november() {
  const product = uniqueId("PROD-");
  const sku = '标准版, "年付"';
  const bought = await purchase(NOV_START + 30 * 60_000, { amount: "0.10", listAmount: "0.20", productId: product, skuCode: sku });
  const october = await purchase(NOV_START - 1000, { amount: "5.00", productId: product });
  const renewal = await laterOrder(bought.instanceId, { activity: "refreshInstance:RENEWAL", orderType: "RENEW", amount: "0.20", createdAt: NOV_START + 14 * 86_400_000, productId: product, skuCode: sku });
  const upgrade = await laterOrder(bought.instanceId, { activity: "upgradeInstance", orderType: "CHANGE", amount: "0.01", createdAt: NOV_START + 20 * 86_400_000, productId: product, skuCode: "=SKU+1" });
  const refund = await laterOrder(bought.instanceId, { activity: "refreshInstance:UNSUBSCRIBE_RENEWAL_PERIOD", orderType: "RENEW", amount: "0.05", createdAt: NOV_START + 25 * 86_400_000, productId: product });
  const ppuProduct = uniqueId("PPU-");
  const ppu = await purchase(NOV_START + 2 * HOUR, { amount: "0", productId: ppuProduct, skuCode: "SKU-H", chargingMode: "ON_DEMAND" });
  await usageHour(ppu.instanceId, NOV_START - HOUR, 99_999, "accepted", ppuProduct); // 31 Oct 23:00 China time: October's
  await usageHour(ppu.instanceId, NOV_START, 1000, "accepted", ppuProduct);
  await usageHour(ppu.instanceId, NOV_START + HOUR, 2000, "accepted", ppuProduct);
  await usageHour(ppu.instanceId, NOV_START + 2 * HOUR, 1, "rejected", ppuProduct);
  await usageHour(ppu.instanceId, NOV_START + 3 * HOUR, 10_000, "expired", ppuProduct);
  await usageHour(ppu.instanceId, NOV_START + 4 * HOUR, 30_000, "pending", ppuProduct);
  await usageHour(ppu.instanceId, NOV_START + 5 * HOUR, 5000, "sent", ppuProduct);
  const debug = await purchase(NOV_START + 3 * HOUR, { amount: "77.00", productId: product }, "1");
  await usageHour(debug.instanceId, NOV_START + HOUR, 50_000, "accepted", ppuProduct);
  return { product, ppuProduct, bought, october, renewal, upgrade, refund, ppu, debug };
}

const sellerGet = async (path: string, token?: string | null) => exports.default.fetch(sellerRequest(path, token === undefined ? {} : { token }));

afterEach(() => {
  vi.useRealTimers();
});

describe("GET /api/v1/statements/{period}", () => {
  it("lists November's order lines and usage in China time, signed, exact, debug data left out", async () => {
    const data = await november();
    setClock(Date.UTC(2026, 11, 1));
    const response = await sellerGet("/api/v1/statements/2026-11");
    expect(response.status).toBe(200);
    const statement = (await response.json()) as {
      orders: Array<Record<string, unknown>>;
      usage: Array<Record<string, unknown>>;
      totals: Record<string, unknown> & { products: Array<Record<string, unknown>> };
    } & Record<string, unknown>;
    expect(statement).toMatchObject({ period: "2026-11", timezone: "Asia/Shanghai", currency: "CNY", final: false, from: "2026-10-31T16:00:00.000Z", to: "2026-11-30T16:00:00.000Z" });
    const mine = statement.orders.filter((o) => o.productId === data.product || o.productId === data.ppuProduct);
    expect(mine.map((o) => [o.orderId, o.orderType, o.amount])).toEqual([
      [data.bought.orderId, "NEW", "0.10"],
      [data.ppu.orderId, "NEW", "0"],
      [data.renewal, "RENEW", "0.20"],
      [data.upgrade, "CHANGE", "0.01"],
      [data.refund, "RENEW", "-0.05"],
    ]);
    expect(mine[0]).toEqual({
      source: "instance",
      orderId: data.bought.orderId,
      orderLineId: `${data.bought.orderId}-000001`,
      orderType: "NEW",
      chargingMode: "PERIOD",
      productId: data.product,
      skuCode: '标准版, "年付"',
      instanceId: data.bought.instanceId,
      amount: "0.10",
      listAmount: "0.20",
      createdAt: "2026-10-31T16:30:00.000Z",
      note: null,
    });
    expect(statement.usage.filter((u) => u.productId === data.ppuProduct)).toEqual([
      { instanceId: data.ppu.instanceId, productId: data.ppuProduct, skuCode: "SKU-H", hours: 6, quantity: "0.3", rejectedQuantity: "0.0001", expiredQuantity: "1", pendingQuantity: "3.5" },
    ]);
    // 0.10 + 0.20 + 0.01 - 0.05 as floats is 0.26000000000000006.
    expect(0.1 + 0.2 + 0.01 - 0.05).not.toBe(0.26);
    expect(statement.totals.products.find((p) => p.productId === data.product)).toEqual({ productId: data.product, orders: 4, amount: "0.26", usageQuantity: "0" });
    expect(statement.totals.products.find((p) => p.productId === data.ppuProduct)).toEqual({ productId: data.ppuProduct, orders: 1, amount: "0", usageQuantity: "0.3" });

    // October holds the purchase one second before midnight China time, and the 23:00 hour.
    const october = (await (await sellerGet("/api/v1/statements/2026-10")).json()) as typeof statement;
    expect(october.orders.map((o) => o.orderId)).toContain(data.october.orderId);
    expect(october.orders.map((o) => o.orderId)).not.toContain(data.bought.orderId);
    expect(october.usage.find((u) => u.instanceId === data.ppu.instanceId)).toMatchObject({ hours: 1, quantity: "9.9999" });
    // The quarter holds both months.
    const q4 = (await (await sellerGet("/api/v1/statements/2026-Q4")).json()) as typeof statement;
    expect(q4.orders.map((o) => o.orderId)).toEqual(expect.arrayContaining([data.october.orderId, data.bought.orderId, data.refund]));
    expect(q4.usage.find((u) => u.instanceId === data.ppu.instanceId)).toMatchObject({ hours: 7, quantity: "10.2999" });
    // Debug data is in none of them.
    for (const s of [statement, october, q4]) {
      expect(s.orders.map((o) => o.orderId)).not.toContain(data.debug.orderId);
      expect(s.usage.map((u) => u.instanceId)).not.toContain(data.debug.instanceId);
    }
  });

  it("marks a purchase refunded after its window and a line whose amount is unknown; the totals leave both out", async () => {
    const product = uniqueId("PROD-");
    const at = Date.UTC(2027, 1, 10);
    const failed = await purchase(at, { amount: "50.00", productId: product });
    // The instance's window closed unprovisioned: the Marketplace judges the purchase failed and refunds it.
    await env.DB.prepare("UPDATE instances SET status = 'failed' WHERE id = ?").bind(failed.instanceId).run();
    const kept = await purchase(at + HOUR, { amount: "0.07", productId: product });
    const unknown = await laterOrder(kept.instanceId, { activity: "refreshInstance:RENEWAL", orderType: "RENEW", amount: null, createdAt: at + 2 * HOUR, productId: product });
    const statement = (await (await sellerGet("/api/v1/statements/2027-02")).json()) as { orders: Array<Record<string, unknown>>; totals: { products: Array<Record<string, unknown>> } };
    const byId = (id: string) => statement.orders.find((o) => o.orderId === id);
    expect(byId(failed.orderId)).toMatchObject({ amount: "50.00", note: "refunded after the 3-hour window: the Marketplace refunds a purchase it judged failed" });
    expect(byId(kept.orderId)).toMatchObject({ amount: "0.07", note: null });
    expect(byId(unknown)).toMatchObject({ amount: null, note: "amount unknown: query order failed 10 times: HTTP 500" });
    expect(statement.totals.products.find((p) => p.productId === product)).toEqual({ productId: product, orders: 3, amount: "0.07", usageQuantity: "0" });
    const csv = await (await sellerGet("/api/v1/statements/2027-02?format=csv")).text();
    expect(csv.split("\r\n").find((l) => l.includes(failed.orderId))).toContain(",50.00,100.00,2027-02-10T00:00:00.000Z,refunded after the 3-hour window: the Marketplace refunds a purchase it judged failed,");
    // The refunded purchase is not expected on the bill; the unknown amount differs from whatever the bill says.
    const bill = `订单号,订单行ID,实付金额\n${kept.orderId},${kept.orderId}-000001,0.070\n${unknown},${unknown}-000001,1.00\n`;
    const answer = await adminCall("/admin/api/statements/2027-02/reconcile", { method: "POST", body: bill, contentType: "text/csv" });
    expect(answer.json).toEqual({
      period: "2027-02",
      matched: 1,
      onlyInBill: [],
      onlyInLedger: [],
      different: [{ key: `order:${unknown}/${unknown}-000001`, kind: "order", bill: "1", ledger: null, rows: [3] }],
    });
  });

  it("is final from 00:00 on the 7th of the next month in China time", async () => {
    setClock(Date.UTC(2026, 11, 6, 15, 59, 59));
    expect(await (await sellerGet("/api/v1/statements/2026-11")).json()).toMatchObject({ final: false });
    setClock(Date.UTC(2026, 11, 6, 16));
    expect(await (await sellerGet("/api/v1/statements/2026-11")).json()).toMatchObject({ final: true });
    setClock(Date.UTC(2027, 0, 6, 15));
    expect(await (await sellerGet("/api/v1/statements/2026-Q4")).json()).toMatchObject({ final: false });
  });

  it("a malformed period is 400, a wrong token 401, an unknown query 400", async () => {
    for (const period of ["2026-13", "2026-Q5", "202611", "2026-1"]) {
      const response = await sellerGet(`/api/v1/statements/${period}`);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toContain("YYYY-MM");
    }
    expect((await sellerGet("/api/v1/statements/2026-11", "wrong-token")).status).toBe(401);
    expect((await sellerGet("/api/v1/statements/2026-11", null)).status).toBe(401);
    expect((await sellerGet("/api/v1/statements/2026-11", env.ADMIN_TOKEN)).status).toBe(401);
    expect((await sellerGet("/api/v1/statements/2026-11?format=xml")).status).toBe(400);
  });

  it("?format=csv is UTF-8 with a BOM, one header, a kind column, quoting and formula-like cells defused", async () => {
    const data = await november();
    const response = await sellerGet("/api/v1/statements/2026-11?format=csv");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    const lines = text.slice(1).split("\r\n");
    expect(lines[0]).toBe("kind,orderId,orderLineId,orderType,chargingMode,productId,skuCode,instanceId,amount,listAmount,createdAt,note,hours,quantity,rejectedQuantity,expiredQuantity,pendingQuantity");
    expect(lines).toContain(
      `order,${data.bought.orderId},${data.bought.orderId}-000001,NEW,PERIOD,${data.product},"标准版, ""年付""",${data.bought.instanceId},0.10,0.20,2026-10-31T16:30:00.000Z,,,,,,`,
    );
    expect(lines.find((l) => l.includes(data.upgrade))).toContain(",'=SKU+1,");
    expect(lines.find((l) => l.includes(data.refund))).toContain(",-0.05,-0.05,");
    expect(lines).toContain(`usage,,,,,${data.ppuProduct},SKU-H,${data.ppu.instanceId},,,,,6,0.3,0.0001,1,3.5`);
  });
});

describe("GET /admin/api/statements/{period}", () => {
  it("answers the same statement to the admin token only", async () => {
    setClock(Date.UTC(2026, 11, 1));
    const admin = await adminCall("/admin/api/statements/2026-11");
    expect(admin.status).toBe(200);
    const seller = await (await sellerGet("/api/v1/statements/2026-11")).json();
    expect(admin.json).toEqual(seller);
    expect((await adminCall("/admin/api/statements/2026-11", { authorization: `Bearer ${env.SELLER_API_TOKEN}` })).status).toBe(401);
    expect((await adminCall("/admin/api/statements/2026-Q0")).status).toBe(400);
    const csv = await exports.default.fetch(new Request("https://gateway.test/admin/api/statements/2026-11?format=csv", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }));
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
  });
});

describe("statement settings", () => {
  it("a broken statement setting degrades only the statements, and health names it", () => {
    const problems = settingsProblems({ ...env, STATEMENT_TIMEZONE: "Mars/Olympus_Mons", BILL_COLUMNS: "" });
    expect(problems.statements).toEqual({ setting: "STATEMENT_TIMEZONE", problem: "must be an IANA time zone such as Asia/Shanghai" });
    expect(problems.marketplace).toBe("ok");
    expect(settingsProblems({ ...env, BILL_COLUMNS: '{"orderId": 5}' }).statements).toMatchObject({ setting: "BILL_COLUMNS" });
    expect(settingsProblems({ ...env, BILL_COLUMNS: "not json" }).statements).toMatchObject({ setting: "BILL_COLUMNS" });
    expect(settingsProblems({ ...env, STATEMENT_CURRENCY: "yuan" }).statements).toMatchObject({ setting: "STATEMENT_CURRENCY" });
    expect(settingsProblems({ ...env, BILL_COLUMNS: '{"orderId": "订单编号", "usage": ["用量", "使用量"]}' }).statements).toBe("ok");
  });
});

const LEDGER_TABLES = ["instances", "orders", "general_orders", "license_code_orders", "usage_records", "usage_events", "admin_actions", "inbox", "audit_events"];

const reconcileCall = (body: string, contentType = "text/csv; charset=utf-8") =>
  adminCall("/admin/api/statements/2026-11/reconcile", { method: "POST", body, contentType });

describe("POST /admin/api/statements/{period}/reconcile", () => {
  /** The bill as the seller centre exports it: a missing line (the upgrade), an extra line, a different quantity. */
  function billOf(data: Awaited<ReturnType<typeof november>>, others: Array<Record<string, unknown>>, separator = ",") {
    const rows = [
      ["订单号", "订单行ID", "产品名称", "实付金额", "实例ID", "使用量"],
      [data.bought.orderId, `${data.bought.orderId}-000001`, "标准版, 年付", "0.1", "", ""],
      [data.ppu.orderId, `${data.ppu.orderId}-000001`, "按需", "0.00", "", ""],
      [data.renewal, `${data.renewal}-000001`, "续费", "0.20", "", ""],
      [data.refund, `${data.refund}-000001`, "退续费", "-0.05", "", ""],
      ["EXTRA-ORDER-1", "EXTRA-ORDER-1-000001", "多出来的", "9.99", "", ""],
      ["", "", "按需用量", "", data.ppu.instanceId, "0.4"],
      // The rest of the ledger's month (other tests' orders) as the bill would list it.
      ...others.map((o) => [String(o.orderId), String(o.orderLineId ?? ""), "", String(o.amount ?? "0"), "", ""]),
    ];
    const cell = (value: string) => (separator === "," && /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
    return rows.map((row) => row.map(cell).join(separator)).join("\r\n");
  }

  async function otherLines(data: Awaited<ReturnType<typeof november>>) {
    const statement = (await adminCall("/admin/api/statements/2026-11")).json as { orders: Array<Record<string, unknown>> };
    const mine = new Set([data.bought.orderId, data.ppu.orderId, data.renewal, data.refund, data.upgrade]);
    return statement.orders.filter((o) => !mine.has(String(o.orderId)) && o.amount !== null && o.note === null);
  }

  it("finds the missing line, the extra line and the different quantity; stores nothing", async () => {
    const data = await november();
    const others = await otherLines(data);
    const before = await rowCounts(LEDGER_TABLES);
    const answer = await reconcileCall(billOf(data, others));
    expect(answer.status).toBe(200);
    const result = answer.json as { matched: number; onlyInBill: unknown[]; onlyInLedger: Array<{ key: string }>; different: unknown[] };
    expect(result.onlyInBill).toEqual([{ key: "order:EXTRA-ORDER-1/EXTRA-ORDER-1-000001", kind: "order", value: "9.99", rows: [6] }]);
    expect(result.onlyInLedger.filter((e) => e.key.includes(data.upgrade) || e.key.includes(data.ppu.instanceId))).toEqual([
      { key: `order:${data.upgrade}/${data.upgrade}-000001`, kind: "order", value: "0.01" },
    ]);
    expect(result.different).toEqual([{ key: `usage:${data.ppu.instanceId}`, kind: "usage", bill: "0.4", ledger: "0.3", rows: [7] }]);
    // The purchase ("0.1" = "0.10"), the pay-per-use order, the renewal, the refund, and the others.
    expect(result.matched).toBe(4 + others.length);
    expect(await rowCounts(LEDGER_TABLES)).toEqual(before);
  });

  it("reads a tab-separated export and one with a BOM the same way", async () => {
    const data = await november();
    const others = await otherLines(data);
    const comma = (await reconcileCall(billOf(data, others))).json;
    const tabs = await reconcileCall(`\uFEFF${billOf(data, others, "\t")}`, "text/tab-separated-values");
    expect(tabs.status).toBe(200);
    expect(tabs.json).toEqual(comma);
    const bom = await reconcileCall(`\uFEFF${billOf(data, others)}`);
    expect(bom.json).toEqual(comma);
  });

  it("a malformed row is a 400 naming it; a file without the columns names BILL_COLUMNS; xlsx and non-UTF-8 are refused", async () => {
    const before = await rowCounts(LEDGER_TABLES);
    const bad = await reconcileCall("订单号,实付金额\r\nA-1,1.00\r\nA-2,一百\r\n");
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('row 3: amount "一百" is not a decimal number');
    const quote = await reconcileCall('订单号,实付金额\nA-1,1.00\nA-2,1.00\nA"3,2\n');
    expect(quote.json.error).toMatch(/^row 4: /);
    const noColumns = await reconcileCall("order,total\r\nA-1,1\r\n");
    expect(noColumns.status).toBe(400);
    expect(noColumns.json.error).toContain("BILL_COLUMNS");
    const neither = await reconcileCall("订单号,实付金额,实例ID,使用量\nA-1,1,,\n,,,\n,合计,,\n");
    expect(neither.json.error).toBe("row 4: has neither an order id nor an instance id with a usage quantity");
    const xlsx = await adminCall("/admin/api/statements/2026-11/reconcile", { method: "POST", body: "PK\u0003\u0004rest", contentType: "application/octet-stream" });
    expect(xlsx.json.error).toContain("save it as CSV UTF-8");
    const gbk = await exports.default.fetch(
      new Request("https://gateway.test/admin/api/statements/2026-11/reconcile", { method: "POST", headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` }, body: new Uint8Array([0xb6, 0xa9, 0xb5, 0xa5, 0x0a]) }),
    );
    expect(gbk.status).toBe(400);
    expect((await reconcileCall("")).status).toBe(400);
    expect((await reconcileCall("订单号,实付金额\nA-1,1\n", "text/csv").then(() => adminCall("/admin/api/statements/2026-13/reconcile", { method: "POST", body: "x", contentType: "text/csv" }))).status).toBe(400);
    expect(await rowCounts(LEDGER_TABLES)).toEqual(before);
  });

  it("refuses a bill over 5 MB with 413, and a caller without the admin token with 401", async () => {
    const big = `订单号,实付金额\r\n${"A-1,1.00\r\n".repeat(Math.ceil((5 * 1024 * 1024) / 10) + 1)}`;
    const answer = await reconcileCall(big);
    expect(answer.status).toBe(413);
    expect(answer.json.error).toContain("5 MB");
    const seller = await adminCall("/admin/api/statements/2026-11/reconcile", { method: "POST", body: "订单号,实付金额\n", contentType: "text/csv", authorization: `Bearer ${env.SELLER_API_TOKEN}` });
    expect(seller.status).toBe(401);
  });
});
