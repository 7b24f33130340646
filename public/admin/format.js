// @ts-check
/*
 * Pure formatting of the page: no DOM, no fetch, so test/node/admin-page-format.test.ts runs them in Node. Every time
 * on the page is UTC, as the API gives it.
 */

/** @typedef {import("../../src/admin/page/api-types").TimelineEntry} TimelineEntry */

export const DASH = "\u2014";

/**
 * A value as one line of text: a dash for nothing, JSON for an object.
 * @param {unknown} value
 * @returns {string}
 */
export function text(value) {
  if (value === null || value === undefined || value === "") return DASH;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/**
 * An RFC 3339 UTC time without its milliseconds: 2026-11-29 10:00:00Z.
 * @param {string | null | undefined} iso
 * @returns {string}
 */
export function when(iso) {
  if (!iso) return DASH;
  return String(iso).replace("T", " ").replace(/\.\d{3}Z$/, "Z");
}

/**
 * How long ago, in minutes up to two hours, then hours.
 * @param {number | null | undefined} ms
 * @returns {string}
 */
export function ago(ms) {
  if (ms === null || ms === undefined) return "never ran";
  const minutes = Math.round(ms / 60000);
  return minutes < 120 ? minutes + " min" : Math.round(minutes / 60) + " h";
}

/**
 * datetime-local has no zone: the operator types UTC, as every time on this page is UTC.
 * @param {string | undefined} value
 * @returns {string}
 */
export function utc(value) {
  return value ? value + (value.length === 16 ? ":00Z" : "Z") : "";
}

/**
 * The one-line title of a timeline entry.
 * @param {TimelineEntry} entry
 * @returns {string}
 */
export function entryTitle(entry) {
  switch (entry.kind) {
    case "inbox":
    case "kitSync":
      return entry.kind + " \u00b7 " + entry.interface + " " + entry.activity + " \u2192 " + entry.resultCode;
    case "audit":
      return "audit #" + entry.seq + " \u00b7 " + entry.event + (entry.toStatus ? " (" + text(entry.fromStatus) + " \u2192 " + entry.toStatus + ")" : "");
    case "orderFetch":
      return "query order \u00b7 " + entry.fetchState + " after " + entry.fetchAttempts + " attempt(s)";
    case "delivery":
      return "webhook " + entry.type + " \u00b7 " + (entry.deliveryState === "none" ? "not sent (no webhook configured)" : entry.deliveryState + " after " + entry.attempts + " attempt(s)");
    case "usageRecord":
      return "usage " + entry.meteringSn + " \u00b7 " + entry.state + " \u00b7 " + entry.usageValue;
    case "signIn":
      return "sign-in \u00b7 " + entry.userName + " (" + entry.role + ") of tenant " + entry.tenantId;
    default:
      return text(/** @type {{ kind?: unknown }} */ (entry).kind);
  }
}

/**
 * Whether a timeline entry went wrong (shown in red): a failed delivery or order fetch, a rejected or expired usage
 * record, a callback answered other than 000000 (done) or 000004 (retried by the Marketplace).
 * @param {TimelineEntry} entry
 * @returns {boolean}
 */
export function isBad(entry) {
  switch (entry.kind) {
    case "delivery":
      return entry.deliveryState === "failed";
    case "usageRecord":
      return entry.state === "rejected" || entry.state === "expired";
    case "orderFetch":
      return entry.fetchState === "failed";
    case "inbox":
    case "kitSync":
      return entry.resultCode !== "000000" && entry.resultCode !== "000004";
    default:
      return false;
  }
}
