import { type CsvCell, numberCell, textCell, toCsv } from "./csv";
import type { Statement } from "../seller-api/statements.schema";

/*
 * The statement as one CSV table with a `kind` column (order | usage): one header, so a spreadsheet filter or pivot
 * takes both; the columns a kind does not have stay empty. Totals are not rows (a sum over the column gives them).
 */
export const STATEMENT_CSV_HEADER = [
  "kind",
  "orderId",
  "orderLineId",
  "orderType",
  "chargingMode",
  "productId",
  "skuCode",
  "instanceId",
  "amount",
  "listAmount",
  "createdAt",
  "note",
  "hours",
  "quantity",
  "rejectedQuantity",
  "expiredQuantity",
  "pendingQuantity",
] as const;

export function statementCsv(statement: Statement): string {
  const orders: CsvCell[][] = statement.orders.map((order) => [
    textCell("order"),
    textCell(order.orderId),
    textCell(order.orderLineId),
    textCell(order.orderType),
    textCell(order.chargingMode),
    textCell(order.productId),
    textCell(order.skuCode),
    textCell(order.instanceId),
    numberCell(order.amount),
    numberCell(order.listAmount),
    textCell(order.createdAt),
    textCell(order.note),
    null,
    null,
    null,
    null,
    null,
  ]);
  const usage: CsvCell[][] = statement.usage.map((row) => [
    textCell("usage"),
    null,
    null,
    null,
    null,
    textCell(row.productId),
    textCell(row.skuCode),
    textCell(row.instanceId),
    null,
    null,
    null,
    null,
    numberCell(String(row.hours)),
    numberCell(row.quantity),
    numberCell(row.rejectedQuantity),
    numberCell(row.expiredQuantity),
    numberCell(row.pendingQuantity),
  ]);
  return toCsv(STATEMENT_CSV_HEADER, [...orders, ...usage]);
}

export const csvResponse = (body: string, filename: string): Response =>
  new Response(body, {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="${filename}"`,
      "Cache-Control": "no-store",
    },
  });
