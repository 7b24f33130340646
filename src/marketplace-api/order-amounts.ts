/*
 * Query order's amounts (marketplace-open-apis §2.1): each order line carries `currency` (the list price) and
 * `currencyAfterDiscount` (what the buyer paid), decimal strings in the Marketplace's mock. They are kept as the exact
 * decimal text, never through a float: a statement sums them as decimals, and 0.1 + 0.2 must stay 0.3.
 * Sums and comparisons are src/statements/decimal.ts.
 */
import { isDecimal } from "../statements/decimal";

export type AmountCheck = { ok: true; value: string | null } | { ok: false; problem: string };

/**
 * The amount as a decimal string: a decimal string as sent, a JSON number as the exact decimal JSON gave (the shortest
 * text that reads back as that number, expanded out of exponent form), absent as null. Anything else is malformed.
 */
export function decimalAmountOf(value: unknown): AmountCheck {
  if (value === undefined || value === null || value === "") return { ok: true, value: null };
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return { ok: false, problem: `not a finite number: ${String(value)}` };
    return { ok: true, value: plainDecimal(String(value)) };
  }
  if (typeof value !== "string") return { ok: false, problem: `not a decimal: ${typeof value}` };
  const text = value.trim();
  if (!isDecimal(text)) return { ok: false, problem: `not a decimal: ${JSON.stringify(value.slice(0, 40))}` };
  return { ok: true, value: text };
}

/** "1e-7" → "0.0000001", "1.5e+21" → "1500000000000000000000": digit moves on the text, no arithmetic. */
function plainDecimal(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return text;
  const [, sign = "", whole = "", fraction = "", exponentText = "0"] = match;
  const exponent = Number(exponentText);
  const digits = whole + fraction;
  const point = whole.length + exponent;
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
