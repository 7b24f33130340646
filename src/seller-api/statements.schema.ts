import { z } from "zod";

const decimal = z.string().describe("an exact decimal string; refunds negative");

export const StatementParams = z.strictObject({
  period: z.string().min(1).max(16).describe("a month YYYY-MM or a quarter YYYY-Qn, in STATEMENT_TIMEZONE"),
});

export const StatementQuery = z.strictObject({
  format: z.enum(["json", "csv"]).default("json").describe("csv: text/csv with a UTF-8 BOM, one `kind` column (order | usage)"),
});

export const StatementBody = z.object({
  period: z.string(),
  timezone: z.string(),
  currency: z.string().describe("STATEMENT_CURRENCY: query order's amounts name none"),
  final: z.boolean().describe("false until 00:00 on the 7th of the month after the period, when the Marketplace's bill exists"),
  generatedAt: z.string(),
  from: z.string().describe("the period's first instant, ISO 8601 UTC"),
  to: z.string().describe("the instant after the period, ISO 8601 UTC"),
  orders: z.array(
    z.object({
      source: z.enum(["instance", "general", "license"]),
      orderId: z.string(),
      orderLineId: z.string().nullable(),
      orderType: z.string().nullable(),
      chargingMode: z.string().nullable(),
      productId: z.string().nullable(),
      skuCode: z.string().nullable(),
      instanceId: z.string().nullable().describe("the instance, or the license code of a license order"),
      amount: decimal.nullable().describe("currencyAfterDiscount; null while the order is not fetched (see note)"),
      listAmount: decimal.nullable().describe("currency (the list price)"),
      createdAt: z.string().describe("the order's createTime, ISO 8601 UTC"),
      note: z.string().nullable().describe("refunded after the 3-hour window, or why the amount is unknown"),
    }),
  ),
  usage: z.array(
    z.object({
      instanceId: z.string(),
      productId: z.string().nullable(),
      skuCode: z.string().nullable(),
      hours: z.number().int().describe("usage records whose period begins in the statement's period (one per billed hour; a daily-billed product's day is one)"),
      quantity: decimal.describe("accepted by the Marketplace"),
      rejectedQuantity: decimal,
      expiredQuantity: decimal,
      pendingQuantity: decimal.describe("not answered yet: waiting to be pushed, or sent without a final answer"),
    }),
  ),
  totals: z.object({
    orders: z.number().int(),
    amount: decimal.describe("sum of the known amounts; purchases refunded after their window left out"),
    unknownAmounts: z.number().int(),
    usageQuantity: decimal,
    products: z.array(z.object({ productId: z.string().nullable(), orders: z.number().int(), amount: decimal, usageQuantity: decimal })),
  }),
}).meta({ id: "Statement" });

export type Statement = z.output<typeof StatementBody>;
/** One order line as the statement shows it. */
export type StatementOrder = Statement["orders"][number];
/** One pay-per-use instance's usage in the period, per product and SKU. */
export type StatementUsageLine = Statement["usage"][number];

const reconcileKind = z.enum(["order", "usage"]);

const BillEntry = z.object({
  key: z.string().describe("order:<orderId>/<orderLineId> or usage:<instanceId>"),
  kind: reconcileKind,
  value: decimal.nullable().describe("the amount (order) or quantity (usage); null on the ledger side when the order's amount is not known"),
  rows: z.array(z.number().int()).optional().describe("the bill's rows of this key (1-based, header = row 1)"),
});

/** POST /admin/api/statements/{period}/reconcile: the bill detail against the ledger of the period. */
export const ReconciliationBody = z.object({
  period: z.string(),
  matched: z.number().int(),
  onlyInBill: z.array(BillEntry),
  onlyInLedger: z.array(BillEntry),
  different: z.array(z.object({ key: z.string(), kind: reconcileKind, bill: decimal, ledger: decimal.nullable(), rows: z.array(z.number().int()) })),
});
export type Reconciliation = z.output<typeof ReconciliationBody>;
export type BillEntry = z.output<typeof BillEntry>;
