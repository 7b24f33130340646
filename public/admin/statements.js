// @ts-check
/*
 * The Statements view: a month's (or quarter's) orders, usage and totals per product, its CSV, and the reconciliation
 * of the Marketplace's bill detail export with it. The CSV needs the admin token, so it is fetched with the
 * Authorization header and saved from a blob: URL of this page (a download, which the CSP does not restrict).
 */

/** @typedef {import("../../src/admin/page/api-types").Statement} Statement */
/** @typedef {import("../../src/admin/page/api-types").StatementOrder} StatementOrder */
/** @typedef {import("../../src/admin/page/api-types").StatementUsage} StatementUsage */
/** @typedef {import("../../src/admin/page/api-types").Reconciliation} Reconciliation */

import { api, request } from "./api.js";
import { byId, clear, el, formById, formValues, table } from "./dom.js";
import { text, when } from "./format.js";
import { csvFileName, describeEntry, periodOf, previousMonth, reconciliationSummary, statementHeadline, totalsTable, usageLost } from "./statement-format.js";

/**
 * @param {string} period
 * @returns {string}
 */
function statementPath(period) {
  return "/admin/api/statements/" + encodeURIComponent(period);
}

/** The period the form asks for; an error names what is wrong. */
function askedPeriod() {
  const filters = formValues(formById("statement-filters"));
  const period = periodOf(filters.month ?? "", filters.span === "quarter" ? "quarter" : "month");
  if (!period) throw new Error("Choose a month (YYYY-MM).");
  return period;
}

/** Fills the month field once, with last month (China time). */
export function prepareStatements() {
  const month = formById("statement-filters").elements.namedItem("month");
  if (month instanceof HTMLInputElement && !month.value) month.value = previousMonth(new Date());
}

/**
 * Loads and shows the statement of the period the form names.
 * @param {(message: string, isError?: boolean) => void} say
 */
export async function loadStatement(say) {
  const period = askedPeriod();
  say("Loading the statement of " + period + "\u2026");
  const statement = /** @type {Statement} */ (await api("GET", statementPath(period)));
  const totals = totalsTable(statement.totals);
  clear(byId("statement")).append(
    el("p", { className: statement.final ? "hint" : "warning", text: statementHeadline(statement) }),
    el("h2", { text: "Totals per product" }),
    table(totals.rows, totals.headings.map((heading, index) => [heading, (/** @type {string[]} */ row) => row[index] ?? ""])),
    el("h2", { text: "Orders" }),
    table(statement.orders, orderColumns(), (row, tr) => {
      if (row.note) tr.className = "late";
    }),
    el("h2", { text: "Usage" }),
    table(statement.usage, usageColumns(), (row, tr) => {
      if (usageLost(row)) tr.className = "rejected";
    }),
  );
  say("Statement of " + statement.period + ": " + statement.orders.length + " order line(s), " + statement.usage.length + " usage row(s)");
}

/** @returns {import("./dom.js").Column<StatementOrder>[]} */
function orderColumns() {
  return [
    ["Created", (r) => when(r.createdAt)],
    ["Order", (r) => r.orderId],
    ["Line", (r) => r.orderLineId],
    ["Type", (r) => r.orderType],
    ["Charging", (r) => text(r.chargingMode)],
    ["Product", (r) => text(r.productId)],
    ["SKU", (r) => text(r.skuCode)],
    ["Instance", (r) => text(r.instanceId)],
    ["Amount", (r) => text(r.amount)],
    ["List amount", (r) => text(r.listAmount)],
    ["Note", (r) => text(r.note)],
  ];
}

/** @returns {import("./dom.js").Column<StatementUsage>[]} */
function usageColumns() {
  return [
    ["Instance", (r) => r.instanceId],
    ["Product", (r) => text(r.productId)],
    ["SKU", (r) => text(r.skuCode)],
    ["Hours", (r) => text(r.hours)],
    ["Accepted", (r) => text(r.quantity)],
    ["Rejected", (r) => text(r.rejectedQuantity)],
    ["Expired", (r) => text(r.expiredQuantity)],
    ["Pending", (r) => text(r.pendingQuantity)],
  ];
}

/**
 * Fetches the asked period's CSV with the token and saves it.
 * @param {(message: string, isError?: boolean) => void} say
 */
export async function downloadCsv(say) {
  const period = askedPeriod();
  const response = await request("GET", statementPath(period), { format: "csv" }, undefined, "text/csv");
  const url = URL.createObjectURL(await response.blob());
  try {
    const link = el("a", { href: url, download: csvFileName(period), hidden: true });
    document.body.appendChild(link);
    link.click();
    link.remove();
  } finally {
    // After the click has started the download: revoking at once can cancel it in some browsers.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
  say("Saved " + csvFileName(period));
}

/**
 * Sends the chosen bill export (its bytes as saved, as text/csv: decoding it here would drop its BOM and could not tell
 * its encoding) to be reconciled with the asked period, and shows the answer.
 * @param {(message: string, isError?: boolean) => void} say
 */
export async function reconcile(say) {
  const period = askedPeriod();
  const field = formById("reconcile-form").elements.namedItem("bill");
  const file = field instanceof HTMLInputElement && field.files ? field.files[0] : undefined;
  if (!file) throw new Error("Choose the bill detail export first.");
  say("Reconciling " + file.name + " with " + period + "\u2026");
  const answer = /** @type {Reconciliation} */ (
    await api("POST", statementPath(period) + "/reconcile", null, { file, type: "text/csv" })
  );
  const summary = reconciliationSummary(answer);
  const clean = answer.onlyInBill.length + answer.onlyInLedger.length + answer.different.length === 0;
  /** @type {import("./dom.js").Column<import("../../src/admin/page/api-types").ReconciliationEntry>[]} */
  const lineColumns = [["Line", describeEntry]];
  clear(byId("reconciliation")).append(
    el("p", { className: clean ? "hint" : "warning", text: period + ": " + summary }),
    el("h2", { text: "Only in the bill" }),
    table(answer.onlyInBill, lineColumns),
    el("h2", { text: "Only in the gateway's ledger" }),
    table(answer.onlyInLedger, lineColumns),
    el("h2", { text: "Different" }),
    table(answer.different, [
      ["Key", (r) => r.key],
      ["Kind", (r) => r.kind],
      ["Bill", (r) => r.bill],
      ["Ledger", (r) => text(r.ledger)],
      ["Bill rows", (r) => r.rows.join(", ")],
    ], (_row, tr) => { tr.className = "rejected"; }),
  );
  say("Reconciled " + period + ": " + summary, !clean);
}
