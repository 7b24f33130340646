import { UNITS_PER_WHOLE } from "../db/schema/billing";

/**
 * Largest single event quantity: the international usage push types usage_value as Double(12,4) (open-apis §2.3.1),
 * so one record can never carry more than 99,999,999.9999.
 */
export const MAX_QUANTITY_UNITS = 999_999_999_999;
/** The same bound for a whole record: the roll-up never sums more into one (billing-rules.md rule 9). */
export const MAX_RECORD_UNITS = MAX_QUANTITY_UNITS;

const DECIMAL = /^(0|[1-9]\d*)(?:\.(\d+))?$/;

export type QuantityCheck = { ok: true; units: number } | { ok: false; problem: string };

/**
 * Reads a quantity as the seller sent it (a JSON number or a decimal string) into integer units of 1/10,000.
 * Numbers are read through their shortest decimal form (0.1 → "0.1"), so a value that needs an exponent or more than
 * 4 decimals is refused rather than rounded: the seller learns about it instead of being billed something else.
 */
export function parseQuantity(value: unknown): QuantityCheck {
  let text: string;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return { ok: false, problem: "quantity must be a finite number" };
    text = String(value);
  } else if (typeof value === "string") {
    text = value.trim();
  } else {
    return { ok: false, problem: "quantity must be a number or a decimal string" };
  }
  if (text.startsWith("-")) return { ok: false, problem: "quantity must not be negative" };
  const match = DECIMAL.exec(text);
  if (!match) return { ok: false, problem: "quantity must be a plain decimal number (digits, optional point, no exponent)" };
  const whole = match[1] ?? "0";
  const fraction = match[2] ?? "";
  if (fraction.length > 4) return { ok: false, problem: "quantity has more than 4 decimals (the Marketplace's precision)" };
  if (whole.length > 8) return { ok: false, problem: "quantity exceeds 99999999.9999" };
  const units = Number(whole) * UNITS_PER_WHOLE + Number(fraction.padEnd(4, "0"));
  if (units === 0) return { ok: false, problem: "quantity must be greater than 0 (the Marketplace refuses a usage value of 0)" };
  if (units > MAX_QUANTITY_UNITS) return { ok: false, problem: "quantity exceeds 99999999.9999" };
  return { ok: true, units };
}

/** Units → the decimal string sent as usage_value: at most 4 decimals, no trailing zeros ("12.5", "3"). */
export function formatUnits(units: number): string {
  if (!Number.isSafeInteger(units) || units < 0) throw new RangeError(`not a unit count: ${units}`);
  const whole = Math.floor(units / UNITS_PER_WHOLE);
  const fraction = String(units % UNITS_PER_WHOLE).padStart(4, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : String(whole);
}
