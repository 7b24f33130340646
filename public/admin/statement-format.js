// @ts-check
/*
 * The Statements view's pure part: the period asked for, and the statement and reconciliation answers as rows of
 * text. No DOM and no fetch (test/node/admin-page-format.test.ts). Amounts and quantities stay the API's decimal
 * strings: the page adds nothing up, so it can get no sum wrong.
 */

/** @typedef {import("../../src/admin/page/api-types").Statement} Statement */
/** @typedef {import("../../src/admin/page/api-types").StatementTotals} StatementTotals */
/** @typedef {import("../../src/admin/page/api-types").Reconciliation} Reconciliation */

import { text } from "./format.js";

/**
 * The API's period for a month input (YYYY-MM): the month itself, or its quarter (YYYY-Qn).
 * @param {string} month
 * @param {"month" | "quarter"} span
 * @returns {string | null} null when the month is not YYYY-MM
 */
export function periodOf(month, span) {
  const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!match) return null;
  if (span === "month") return month;
  return match[1] + "-Q" + Math.ceil(Number(match[2]) / 3);
}

/**
 * The month before the one of `now` in China time (the Marketplace's bills are monthly, in UTC+8): the month a seller
 * most often checks.
 * @param {Date} now
 * @returns {string}
 */
export function previousMonth(now) {
  const china = new Date(now.getTime() + 8 * 3600_000);
  const year = china.getUTCFullYear();
  const month = china.getUTCMonth(); // 0-based: the previous month, 1-based
  return month === 0 ? year - 1 + "-12" : year + "-" + String(month).padStart(2, "0");
}

/**
 * Whether a decimal string is zero ("0", "0.0000", "-0"): compared as text, as the API gives it.
 * @param {string | null | undefined} decimal
 * @returns {boolean}
 */
export function isZero(decimal) {
  return decimal === null || decimal === undefined || /^[-+]?0*(\.0*)?$/.test(decimal.trim()) && /\d/.test(decimal);
}

/**
 * A usage row with quantities the Marketplace rejected or let expire (shown in red).
 * @param {import("../../src/admin/page/api-types").StatementUsage} row
 * @returns {boolean}
 */
export function usageLost(row) {
  return !isZero(row.rejectedQuantity) || !isZero(row.expiredQuantity);
}

/**
 * The file name of a period's CSV.
 * @param {string} period
 * @returns {string}
 */
export function csvFileName(period) {
  return "statement-" + period + ".csv";
}

/**
 * One line above the tables: the period, its zone and currency, and whether it can still change.
 * @param {Statement} statement
 * @returns {string}
 */
export function statementHeadline(statement) {
  const state = statement.final ? "final" : "open: it can still change until the bill of the 7th of the next month";
  return statement.period + " (" + statement.timezone + "), amounts in " + statement.currency + ", " + state + ". " +
    statement.orders.length + " order line(s), " + statement.usage.length + " usage row(s).";
}

/**
 * The totals as a table: one row per product, then all products (with how many amounts are unknown, left out of
 * the sum).
 * @param {StatementTotals} totals
 * @returns {{ headings: string[], rows: string[][] }}
 */
export function totalsTable(totals) {
  const all = totals.amount + (totals.unknownAmounts ? " (" + totals.unknownAmounts + " unknown, left out)" : "");
  return {
    headings: ["Product", "Orders", "Amount", "Usage quantity"],
    rows: [
      ...totals.products.map((product) => [text(product.productId), String(product.orders), product.amount, product.usageQuantity]),
      ["All products", String(totals.orders), all, totals.usageQuantity],
    ],
  };
}

/**
 * A line found on one side only, e.g. "order CS-1/CS-1-000001: 9.90 (bill row 2)".
 * @param {import("../../src/admin/page/api-types").ReconciliationEntry} entry
 * @returns {string}
 */
export function describeEntry(entry) {
  const rows = entry.rows && entry.rows.length ? " (bill row" + (entry.rows.length > 1 ? "s " : " ") + entry.rows.join(", ") + ")" : "";
  return entry.kind + " " + entry.key + ": " + text(entry.value) + rows;
}

/**
 * The reconciliation's headline, e.g. "12 matched, 1 only in the bill, 1 only in the ledger, 1 different".
 * @param {Reconciliation} answer
 * @returns {string}
 */
export function reconciliationSummary(answer) {
  return answer.matched + " matched, " + answer.onlyInBill.length + " only in the bill, " + answer.onlyInLedger.length +
    " only in the ledger, " + answer.different.length + " different";
}
