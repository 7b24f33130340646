import type { BillColumns, BillField } from "./bill-columns";
import { MalformedCsv, parseCsv } from "./csv";
import { isDecimal, normalise, sameDecimal, sumDecimals } from "./decimal";
import type { StatementOrderLine } from "./order-lines";
import type { BillEntry, Reconciliation, StatementUsageLine } from "../seller-api/statements.schema";

/*
 * The Marketplace's exported bill detail against the gateway's ledger of the same period. An order row matches an
 * order line by order id and line id (the order alone when the bill or the ledger names no line) and amount; a usage
 * row (an instance id and a usage quantity, no order id) matches the instance's accepted quantity of the period. Rows
 * of one key are summed on both sides first (an export may split a line). Decimals compare exactly ("1.50" = "1.5").
 * Nothing here stores anything: the bill lives only as long as the request.
 */

interface BillOrderRow {
  row: number;
  orderId: string;
  orderLineId: string | null;
  amount: string;
}

interface BillUsageRow {
  row: number;
  instanceId: string;
  quantity: string;
}

/** "¥1,234.50" → "1234.50": the currency sign and thousands separators a spreadsheet adds; anything else is malformed. */
function billNumber(cell: string, row: number, what: string): string {
  const text = cell.trim().replace(/^[¥￥]/, "").replace(/^(-?)[¥￥]/, "$1").trim();
  const plain = /^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(text) ? text.replaceAll(",", "") : text;
  if (!isDecimal(plain)) throw new MalformedCsv(row, `${what} ${JSON.stringify(cell.slice(0, 40))} is not a decimal number`);
  return plain;
}

/** Each field's column index: the first of its header texts present in the header row. */
function columnsOf(header: readonly string[], columns: BillColumns): Partial<Record<BillField, number>> {
  const cells = header.map((cell) => cell.trim());
  const found: Partial<Record<BillField, number>> = {};
  for (const [field, candidates] of Object.entries(columns) as Array<[BillField, readonly string[]]>) {
    const index = candidates.map((name) => cells.indexOf(name)).find((i) => i >= 0);
    if (index !== undefined) found[field] = index;
  }
  return found;
}

export function readBill(text: string, columns: BillColumns): { orders: BillOrderRow[]; usage: BillUsageRow[] } {
  const { rows } = parseCsv(text);
  const header = rows[0];
  if (!header || header.every((cell) => cell.trim() === "")) throw new MalformedCsv(1, "the file is empty: the first row must be the export's header");
  const at = columnsOf(header, columns);
  const hasOrders = at.orderId !== undefined && at.amount !== undefined;
  const hasUsage = at.instanceId !== undefined && at.usage !== undefined;
  if (!hasOrders && !hasUsage) {
    throw new MalformedCsv(
      1,
      `no order id and amount columns (${columns.orderId.join("/")}, ${columns.amount.join("/")}) nor instance id and usage columns (${columns.instanceId.join("/")}, ${columns.usage.join("/")}): set BILL_COLUMNS to your export's headers`,
    );
  }
  const orders: BillOrderRow[] = [];
  const usage: BillUsageRow[] = [];
  rows.forEach((cells, index) => {
    const row = index + 1;
    if (row === 1 || cells.every((cell) => cell.trim() === "")) return;
    const cell = (field: BillField) => {
      const i = at[field];
      return i === undefined ? "" : (cells[i] ?? "").trim();
    };
    if (cell("orderId") !== "" && hasOrders) {
      if (cell("amount") === "") throw new MalformedCsv(row, "has an order id but no amount");
      orders.push({ row, orderId: cell("orderId"), orderLineId: cell("orderLineId") || null, amount: billNumber(cell("amount"), row, "amount") });
    } else if (cell("instanceId") !== "" && cell("usage") !== "" && hasUsage) {
      usage.push({ row, instanceId: cell("instanceId"), quantity: billNumber(cell("usage"), row, "usage") });
    } else {
      throw new MalformedCsv(row, "has neither an order id nor an instance id with a usage quantity");
    }
  });
  return { orders, usage };
}

const orderKey = (orderId: string, orderLineId: string | null) => (orderLineId ? `order:${orderId}/${orderLineId}` : `order:${orderId}`);

export function reconcile(
  bill: { orders: BillOrderRow[]; usage: BillUsageRow[] },
  ledgerOrders: readonly StatementOrderLine[],
  ledgerUsage: readonly StatementUsageLine[],
): Omit<Reconciliation, "period"> {
  const result: Omit<Reconciliation, "period"> = { matched: 0, onlyInBill: [], onlyInLedger: [], different: [] };
  // A purchase refunded after its window is not in the totals, nor expected on the bill (statement.ts).
  const ledger = ledgerOrders.filter((line) => !line.refundedAfterWindow);
  const consumed = new Set<StatementOrderLine>();

  const billGroups = new Map<string, BillOrderRow[]>();
  for (const row of bill.orders) {
    const key = orderKey(row.orderId, row.orderLineId);
    billGroups.set(key, [...(billGroups.get(key) ?? []), row]);
  }
  for (const [key, rows] of billGroups) {
    const first = rows[0] as BillOrderRow;
    const sameOrder = ledger.filter((line) => line.orderId === first.orderId && !consumed.has(line));
    const candidates = first.orderLineId
      ? (() => {
          const exact = sameOrder.filter((line) => line.orderLineId === first.orderLineId);
          return exact.length > 0 ? exact : sameOrder.filter((line) => line.orderLineId === null);
        })()
      : sameOrder;
    const billAmount = normalise(sumDecimals(rows.map((row) => row.amount)));
    const rowNumbers = rows.map((row) => row.row);
    if (candidates.length === 0) {
      result.onlyInBill.push({ key, kind: "order", value: billAmount, rows: rowNumbers });
      continue;
    }
    for (const line of candidates) consumed.add(line);
    const amounts = candidates.map((line) => line.amount);
    const ledgerAmount = amounts.every((amount): amount is string => amount !== null) ? normalise(sumDecimals(amounts)) : null;
    if (ledgerAmount !== null && sameDecimal(billAmount, ledgerAmount)) result.matched += 1;
    else result.different.push({ key, kind: "order", bill: billAmount, ledger: ledgerAmount, rows: rowNumbers });
  }
  for (const line of ledger) {
    if (!consumed.has(line)) result.onlyInLedger.push({ key: orderKey(line.orderId, line.orderLineId), kind: "order", value: line.amount });
  }

  const billUsage = new Map<string, BillUsageRow[]>();
  for (const row of bill.usage) billUsage.set(row.instanceId, [...(billUsage.get(row.instanceId) ?? []), row]);
  const ledgerByInstance = new Map<string, string[]>();
  for (const row of ledgerUsage) ledgerByInstance.set(row.instanceId, [...(ledgerByInstance.get(row.instanceId) ?? []), row.quantity]);
  for (const [instanceId, rows] of billUsage) {
    const key = `usage:${instanceId}`;
    const billQuantity = normalise(sumDecimals(rows.map((row) => row.quantity)));
    const quantities = ledgerByInstance.get(instanceId);
    ledgerByInstance.delete(instanceId);
    const rowNumbers = rows.map((row) => row.row);
    if (!quantities) result.onlyInBill.push({ key, kind: "usage", value: billQuantity, rows: rowNumbers });
    else if (sameDecimal(billQuantity, sumDecimals(quantities))) result.matched += 1;
    else result.different.push({ key, kind: "usage", bill: billQuantity, ledger: normalise(sumDecimals(quantities)), rows: rowNumbers });
  }
  for (const [instanceId, quantities] of ledgerByInstance) {
    const quantity = normalise(sumDecimals(quantities));
    // Nothing accepted (all rejected, expired or pending): nothing the bill should show.
    if (quantity !== "0") result.onlyInLedger.push({ key: `usage:${instanceId}`, kind: "usage", value: quantity });
  }
  return result;
}
