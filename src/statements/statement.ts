import type { Db } from "../db/client";
import { sumDecimals } from "./decimal";
import { type StatementOrderLine, orderLinesCreatedBetween } from "./order-lines";
import type { StatementPeriod } from "./period";
import { usageLinesBetween } from "./usage-lines";
import type { Statement, StatementOrder, StatementUsageLine } from "../seller-api/statements.schema";

export const REFUNDED_AFTER_WINDOW = "refunded after the 3-hour window: the Marketplace refunds a purchase it judged failed";

function noteOf(line: StatementOrderLine): string | null {
  if (line.refundedAfterWindow) return REFUNDED_AFTER_WINDOW;
  if (line.amount === null) return `amount unknown: ${line.lastError ?? "the order has not been fetched"}`;
  return null;
}

/**
 * Whether the line's amount counts in the totals: a purchase refunded after its window cost the buyer nothing in the
 * end (its refund carries no order of its own the gateway is told of), so it is shown, marked, and not summed.
 */
const counted = (line: StatementOrderLine): line is StatementOrderLine & { amount: string } => line.amount !== null && !line.refundedAfterWindow;

export function orderView(line: StatementOrderLine): StatementOrder {
  return {
    source: line.source,
    orderId: line.orderId,
    orderLineId: line.orderLineId,
    orderType: line.orderType,
    chargingMode: line.chargingMode,
    productId: line.productId,
    skuCode: line.skuCode,
    instanceId: line.instanceId,
    amount: line.amount,
    listAmount: line.listAmount,
    createdAt: new Date(line.createdAt).toISOString(),
    note: noteOf(line),
  };
}

export function totalsOf(lines: readonly StatementOrderLine[], usage: readonly StatementUsageLine[]): Statement["totals"] {
  const products = new Map<string | null, { orders: number; amounts: string[]; usage: string[] }>();
  const of = (productId: string | null) => {
    let entry = products.get(productId);
    if (!entry) products.set(productId, (entry = { orders: 0, amounts: [], usage: [] }));
    return entry;
  };
  for (const line of lines) {
    const entry = of(line.productId);
    entry.orders += 1;
    if (counted(line)) entry.amounts.push(line.amount);
  }
  for (const row of usage) of(row.productId).usage.push(row.quantity);
  return {
    orders: lines.length,
    amount: sumDecimals(lines.filter(counted).map((line) => line.amount)),
    unknownAmounts: lines.filter((line) => line.amount === null).length,
    usageQuantity: sumDecimals(usage.map((row) => row.quantity)),
    products: [...products.entries()]
      .sort(([a], [b]) => (a ?? "").localeCompare(b ?? ""))
      .map(([productId, entry]) => ({ productId, orders: entry.orders, amount: sumDecimals(entry.amounts), usageQuantity: sumDecimals(entry.usage) })),
  };
}

export interface StatementSettings {
  timeZone: string;
  currency: string;
}

/** What the gateway's ledger holds for a period, read now: its order lines and its usage. The statement and the reconciliation both start here. */
export async function readLedger(db: Db, period: StatementPeriod): Promise<{ lines: StatementOrderLine[]; usage: StatementUsageLine[] }> {
  const [lines, usage] = await Promise.all([orderLinesCreatedBetween(db, period.fromMs, period.toMs), usageLinesBetween(db, period.fromMs, period.toMs)]);
  return { lines, usage };
}

/** The statement of a period: what the gateway's ledger holds, read now. */
export async function buildStatement(db: Db, period: StatementPeriod, settings: StatementSettings, now: number): Promise<Statement> {
  const { lines, usage } = await readLedger(db, period);
  return {
    period: period.name,
    timezone: settings.timeZone,
    currency: settings.currency,
    final: now >= period.finalFromMs,
    generatedAt: new Date(now).toISOString(),
    from: new Date(period.fromMs).toISOString(),
    to: new Date(period.toMs).toISOString(),
    orders: lines.map(orderView),
    usage,
    totals: totalsOf(lines, usage),
  };
}
