import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { adminCall } from "../support/admin";
import { setClock } from "../support/billing";
import { createInstance } from "../support/marketplace";
import { controlOrders, queryOrderInfo } from "../support/orders";
import { sellerRequest } from "../support/seller-api";

/*
 * The README's worked example ("Statements and reconciliation"), run: in a file of its own, so its month holds only
 * these orders. Instance ids are the gateway's own; the README calls them i-std and i-ppu.
 */

const HOUR = 3_600_000;
const createTime = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14);

async function purchase(orderId: string, at: number, line: { amount: string; listAmount: string; productId: string; skuCode: string; chargingMode?: string }) {
  await controlOrders({ orders: { [orderId]: queryOrderInfo(orderId, [line], { createTime: createTime(at) }) } });
  return (await createInstance({ orderId, orderLineId: `${orderId}-000001` })).instanceId;
}

async function laterOrder(instanceId: string, orderId: string, activity: string, orderType: string, amount: string, listAmount: string, at: number) {
  await env.DB.prepare(
    `INSERT INTO orders (order_id, order_line_id, instance_id, activity, fetch_state, fetch_attempts, order_type, product_id, sku_code,
      charging_mode, amount, list_amount, order_created_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'fetched', 1, ?, 'OFFI-STD', '标准版', 'PERIOD', ?, ?, ?, ?, ?)`,
  )
    .bind(orderId, `${orderId}-000001`, instanceId, activity, orderType, amount, listAmount, at, at, at)
    .run();
}

async function usageHour(instanceId: string, hourBegin: number, units: number, state: string) {
  await env.DB.prepare(
    `INSERT INTO usage_records (metering_sn, instance_id, product_id, period, period_begin, begin_time, end_time, cover_from,
      cover_to, usage_units, usage_value, event_count, late_units, correction_of, state, attempts, next_attempt_at, deadline,
      warn_at, rollup_token, created_at, updated_at)
     VALUES (?, ?, 'OFFI-PPU', 'hourly', ?, ?, ?, ?, ?, ?, '0', 1, 0, NULL, ?, 1, ?, ?, ?, 'test', ?, ?)`,
  )
    .bind(`sn-${hourBegin}`, instanceId, hourBegin, hourBegin, hourBegin + HOUR, hourBegin, hourBegin + HOUR, units, state, hourBegin, hourBegin + 3 * HOUR, hourBegin + 2 * HOUR, hourBegin, hourBegin)
    .run();
}

afterEach(() => vi.useRealTimers());

describe("the README's worked example", () => {
  it("gives the statement, the CSV and the reconciliation the README shows", async () => {
    const std = await purchase("CS1", Date.UTC(2026, 9, 31, 16, 30), { amount: "99.90", listAmount: "120.00", productId: "OFFI-STD", skuCode: "标准版" });
    const ppu = await purchase("OD1", Date.UTC(2026, 10, 2, 1), { amount: "0", listAmount: "0", productId: "OFFI-PPU", skuCode: "按需", chargingMode: "ON_DEMAND" });
    await laterOrder(std, "RN1", "refreshInstance:RENEWAL", "RENEW", "99.90", "120.00", Date.UTC(2026, 10, 15, 2));
    await laterOrder(std, "UP1", "upgradeInstance", "CHANGE", "30.05", "35.00", Date.UTC(2026, 10, 20, 3));
    const first = Date.UTC(2026, 10, 2, 2);
    for (let i = 0; i < 10; i++) await usageHour(ppu, first + i * HOUR, i === 0 ? 35_000 : 10_000, "accepted");
    await usageHour(ppu, first + 10 * HOUR, 5000, "rejected");
    await usageHour(ppu, first + 11 * HOUR, 2500, "pending");
    setClock(Date.UTC(2026, 11, 3, 2));

    const statement = (await (await exports.default.fetch(sellerRequest("/api/v1/statements/2026-11"))).json()) as Record<string, unknown> & { orders: Array<Record<string, unknown>> };
    expect(statement).toMatchObject({
      period: "2026-11",
      final: false,
      generatedAt: "2026-12-03T02:00:00.000Z",
      usage: [{ instanceId: ppu, productId: "OFFI-PPU", skuCode: "按需", hours: 12, quantity: "12.5", rejectedQuantity: "0.5", expiredQuantity: "0", pendingQuantity: "0.25" }],
      totals: {
        orders: 4,
        amount: "229.85",
        unknownAmounts: 0,
        usageQuantity: "12.5",
        products: [
          { productId: "OFFI-PPU", orders: 1, amount: "0", usageQuantity: "12.5" },
          { productId: "OFFI-STD", orders: 3, amount: "229.85", usageQuantity: "0" },
        ],
      },
    });
    expect(statement.orders.map((o) => [o.orderId, o.orderType, o.amount])).toEqual([["CS1", "NEW", "99.90"], ["OD1", "NEW", "0"], ["RN1", "RENEW", "99.90"], ["UP1", "CHANGE", "30.05"]]);

    // text() drops the BOM (statement-routes.test.ts checks its bytes).
    const csv = await (await exports.default.fetch(sellerRequest("/api/v1/statements/2026-11?format=csv"))).text();
    expect(csv.replaceAll(std, "i-std").replaceAll(ppu, "i-ppu")).toBe(
      [
        "kind,orderId,orderLineId,orderType,chargingMode,productId,skuCode,instanceId,amount,listAmount,createdAt,note,hours,quantity,rejectedQuantity,expiredQuantity,pendingQuantity",
        "order,CS1,CS1-000001,NEW,PERIOD,OFFI-STD,标准版,i-std,99.90,120.00,2026-10-31T16:30:00.000Z,,,,,,",
        "order,OD1,OD1-000001,NEW,ON_DEMAND,OFFI-PPU,按需,i-ppu,0,0,2026-11-02T01:00:00.000Z,,,,,,",
        "order,RN1,RN1-000001,RENEW,PERIOD,OFFI-STD,标准版,i-std,99.90,120.00,2026-11-15T02:00:00.000Z,,,,,,",
        "order,UP1,UP1-000001,CHANGE,PERIOD,OFFI-STD,标准版,i-std,30.05,35.00,2026-11-20T03:00:00.000Z,,,,,,",
        "usage,,,,,OFFI-PPU,按需,i-ppu,,,,,12,12.5,0.5,0,0.25",
        "",
      ].join("\r\n"),
    );

    const bill = [
      "订单号,订单行ID,产品名称,实付金额,实例ID,使用量",
      "CS1,CS1-000001,标准版,99.9,,",
      "OD1,OD1-000001,按需,0.00,,",
      "RN1,RN1-000001,标准版 续费,99.90,,",
      "EXTRA1,EXTRA1-000001,高级版,500.00,,",
      `,,按需用量,,${ppu},13`,
    ].join("\n");
    const answer = await adminCall("/admin/api/statements/2026-11/reconcile", { method: "POST", body: bill, contentType: "text/csv" });
    expect(JSON.parse(answer.text.replaceAll(ppu, "i-ppu"))).toEqual({
      period: "2026-11",
      matched: 3,
      onlyInBill: [{ key: "order:EXTRA1/EXTRA1-000001", kind: "order", value: "500", rows: [5] }],
      onlyInLedger: [{ key: "order:UP1/UP1-000001", kind: "order", value: "30.05" }],
      different: [{ key: "usage:i-ppu", kind: "usage", bill: "13", ledger: "12.5", rows: [6] }],
    });
  });
});
