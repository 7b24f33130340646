import type { Db } from "../db/client";
import { sumDecimals } from "./decimal";
import { type StatementOrderLine, orderLinesCreatedBetween } from "./order-lines";
import type { StatementPeriod } from "./period";
import { type StatementUsageLine, usageLinesBetween } from "./usage-lines";

/** docs/seller-contract.md "Statements": one order line as the statement shows it. */
export interface StatementOrder {
  source: StatementOrderLine["source"];
  orderId: string;
  orderLineId: string | null;
  orderType: string | null;
  chargingMode: string | null;
  productId: string | null;
  skuCode: string | null;
  instanceId: string | null;
  amount: string | null;
  listAmount: string | null;
  /** The order's createTime, ISO 8601 UTC. */
  createdAt: string;
  /** Why the line needs a second look: refunded after its window, or its amount unknown (and why); null otherwise. */
  note: string | null;
}

export interface ProductTotals {
  productId: string | null;
  orders: number;
  amount: string;
  usageQuantity: string;
}

export interface Statement {
  period: string;
  timezone: string;
  currency: string;
  final: boolean;
  generatedAt: string;
  from: string;
  to: string;
  orders: StatementOrder[];
  usage: StatementUsageLine[];
  totals: {
    orders: number;
    amount: string;
    /** Lines whose amount is not known (amount null): the sum leaves them out. */
    unknownAmounts: number;
    usageQuantity: string;
    products: ProductTotals[];
  };
}

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

/** The statement of a period: what the gateway's ledger holds, read now. */
export async function buildStatement(db: Db, period: StatementPeriod, settings: StatementSettings, now: number): Promise<{ statement: Statement; lines: StatementOrderLine[] }> {
  const [lines, usage] = await Promise.all([orderLinesCreatedBetween(db, period.fromMs, period.toMs), usageLinesBetween(db, period.fromMs, period.toMs)]);
  const statement: Statement = {
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
  return { statement, lines };
}
