import { describe, expect, it } from "vitest";
import type { Reconciliation, TimelineEntry } from "../../src/admin/page/api-types";
import { PLACE } from "../../src/operations/problem-kinds";
import { entryTitle, isBad, text, utc, when } from "../../public/admin/format.js";
import { PLACES } from "../../public/admin/problem-places.js";
import { csvFileName, describeEntry, isZero, periodOf, previousMonth, reconciliationSummary, statementHeadline, totalsTable, usageLost } from "../../public/admin/statement-format.js";

/* The admin page's pure functions, as the browser runs them (public/admin/*.js imported as they are served). */

const at = "2026-11-29T10:00:00.000Z";

describe("timeline entries", () => {
  it("titles each kind of entry in one line", () => {
    const entries: Array<[TimelineEntry, string]> = [
      [{ kind: "inbox", at, inboxId: 7, interface: "v2", activity: "newInstance", test: false, resultCode: "000000", request: {}, answer: "{}" }, "inbox · v2 newInstance → 000000"],
      [{ kind: "audit", at, seq: 3, event: "provisioned", fromStatus: "provisioning", toStatus: "active", detail: {} }, "audit #3 · provisioned (provisioning → active)"],
      [{ kind: "audit", at, seq: 1, event: "created", fromStatus: null, toStatus: "provisioning", detail: {} }, "audit #1 · created (— → provisioning)"],
      [
        { kind: "delivery", at, eventId: "evt_1", type: "instance.created", deliveryState: "none", attempts: 0, nextAttemptAt: null, deliverBy: null, deliveredAt: null, lastStatus: null, lastError: null, provisioning: false },
        "webhook instance.created · not sent (no webhook configured)",
      ],
      [
        { kind: "usageRecord", at, meteringSn: "sn-1", period: "hourly", state: "rejected", usageValue: "0.1000", eventCount: 2, attempts: 1, rejectCode: "X", rejectMessage: null, lastError: null, correctionOf: null },
        "usage sn-1 · rejected · 0.1000",
      ],
    ];
    for (const [entry, title] of entries) expect(entryTitle(entry)).toBe(title);
  });

  it("marks a callback answered other than 000000/000004, a rejected record and a failed delivery as bad", () => {
    const inbox = (resultCode: string): TimelineEntry => ({ kind: "inbox", at, inboxId: 1, interface: "v2", activity: "refreshInstance", test: false, resultCode, request: {}, answer: "{}" });
    expect([isBad(inbox("000000")), isBad(inbox("000004")), isBad(inbox("000005"))]).toEqual([false, false, true]);
    expect(isBad({ kind: "audit", at, seq: 1, event: "x", fromStatus: null, toStatus: null, detail: {} })).toBe(false);
  });

  it("shows nothing as a dash, objects as JSON and times without milliseconds; a typed time is UTC", () => {
    expect([text(null), text(""), text({ a: 1 }), text(0)]).toEqual(["—", "—", '{"a":1}', "0"]);
    expect(when(at)).toBe("2026-11-29 10:00:00Z");
    expect([utc("2026-11-29T10:00"), utc("")]).toEqual(["2026-11-29T10:00:00Z", ""]);
  });
});

describe("problem places", () => {
  it("are the places of src/operations/problem-kinds.ts, kind for kind", () => {
    expect(PLACES).toEqual(PLACE);
  });
});

describe("the Statements view", () => {
  it("asks for the month or its quarter, and refuses anything but YYYY-MM", () => {
    expect(periodOf("2026-11", "month")).toBe("2026-11");
    expect(["2026-01", "2026-03", "2026-04", "2026-12"].map((month) => periodOf(month, "quarter"))).toEqual(["2026-Q1", "2026-Q1", "2026-Q2", "2026-Q4"]);
    expect([periodOf("2026-13", "month"), periodOf("", "month"), periodOf("2026-1", "quarter")]).toEqual([null, null, null]);
    expect(csvFileName("2026-Q4")).toBe("statement-2026-Q4.csv");
  });

  it("starts at last month in China time (a bill's month), across the year and at the UTC+8 month boundary", () => {
    expect(previousMonth(new Date("2026-12-06T15:00:00Z"))).toBe("2026-11");
    expect(previousMonth(new Date("2027-01-10T00:00:00Z"))).toBe("2026-12");
    // 16:30 UTC on Nov 30 is already Dec 1 in Shanghai: last month is November.
    expect(previousMonth(new Date("2026-11-30T16:30:00Z"))).toBe("2026-11");
  });

  it("lays out totals per product, then all products with the unknown amounts named", () => {
    const totals = {
      orders: 3,
      amount: "0.30",
      unknownAmounts: 1,
      usageQuantity: "1.5",
      products: [
        { productId: "P-1", orders: 2, amount: "10.10", usageQuantity: "1.5" },
        { productId: null, orders: 1, amount: "-9.80", usageQuantity: "0" },
      ],
    };
    expect(totalsTable(totals)).toEqual({
      headings: ["Product", "Orders", "Amount", "Usage quantity"],
      rows: [["P-1", "2", "10.10", "1.5"], ["—", "1", "-9.80", "0"], ["All products", "3", "0.30 (1 unknown, left out)", "1.5"]],
    });
    expect(totalsTable({ ...totals, unknownAmounts: 0, products: [] }).rows).toEqual([["All products", "3", "0.30", "1.5"]]);
  });

  it("marks usage with rejected or expired quantities, reading the decimal strings as text (0.0000 is zero)", () => {
    expect(["0", "0.0000", "-0", "00.0", "0."].map(isZero)).toEqual([true, true, true, true, true]);
    expect(["0.0001", "1", "-0.5", "", "."].map(isZero)).toEqual([false, false, false, false, false]);
    const row = { instanceId: "i", productId: "p", skuCode: "s", hours: 1, quantity: "1", rejectedQuantity: "0.0000", expiredQuantity: "0", pendingQuantity: "0" };
    expect([usageLost(row), usageLost({ ...row, expiredQuantity: "0.0001" }), usageLost({ ...row, rejectedQuantity: "2" })]).toEqual([false, true, true]);
  });

  it("says whether a statement is final, and counts its lines", () => {
    const totals = { orders: 0, amount: "0", unknownAmounts: 0, usageQuantity: "0", products: [] };
    const statement = { period: "2026-11", timezone: "Asia/Shanghai", currency: "CNY", final: false, generatedAt: at, from: at, to: at, orders: [], usage: [], totals };
    expect(statementHeadline(statement)).toBe(
      "2026-11 (Asia/Shanghai), amounts in CNY, open: it can still change until the bill of the 7th of the next month. 0 order line(s), 0 usage row(s).",
    );
    expect(statementHeadline({ ...statement, final: true })).toContain("amounts in CNY, final.");
  });

  it("sums up a reconciliation and shows each line as text", () => {
    const answer: Reconciliation = {
      period: "2026-11",
      matched: 12,
      onlyInBill: [{ key: "CS1/CS1-1", kind: "order", value: "9.90", rows: [2, 5] }],
      onlyInLedger: [{ key: "i-2", kind: "usage", value: null }],
      different: [{ key: "i-1", kind: "usage", bill: "3.5", ledger: "3.4", rows: [3] }],
    };
    expect(reconciliationSummary(answer)).toBe("12 matched, 1 only in the bill, 1 only in the ledger, 1 different");
    expect(describeEntry(answer.onlyInBill[0]!)).toBe("order CS1/CS1-1: 9.90 (bill rows 2, 5)");
    expect(describeEntry(answer.onlyInLedger[0]!)).toBe("usage i-2: —");
    expect(describeEntry({ key: "<b>x</b>", kind: "order", value: "1", rows: [7] })).toBe("order <b>x</b>: 1 (bill row 7)");
  });
});
