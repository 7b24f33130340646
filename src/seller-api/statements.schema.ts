import { z } from "zod";
import type { Statement } from "../statements/statement";
import type { SameType } from "./common.schema";

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
      hours: z.number().int(),
      quantity: decimal.describe("accepted by the Marketplace"),
      rejectedQuantity: decimal,
      expiredQuantity: decimal,
      pendingQuantity: decimal,
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

const _statementShape: SameType<z.output<typeof StatementBody>, Statement> = true;
void _statementShape;
