/*
 * Exact decimal arithmetic on strings ("12.30", "-0.1"): a value is a BigInt of units at a scale (digits after the
 * point). Money and quantities are summed here, never through a float: 0.1 + 0.2 is "0.3", not 0.30000000000000004.
 */

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

interface Scaled {
  units: bigint;
  scale: number;
}

export class NotADecimal extends Error {
  override readonly name = "NotADecimal";
  constructor(readonly value: string) {
    super(`"${value}" is not a decimal number`);
  }
}

export function isDecimal(value: string): boolean {
  return DECIMAL.test(value);
}

function scaled(value: string): Scaled {
  const match = DECIMAL.exec(value);
  if (!match) throw new NotADecimal(value);
  const fraction = match[3] ?? "";
  const units = BigInt(`${match[2]}${fraction}`);
  return { units: match[1] ? -units : units, scale: fraction.length };
}

const rescale = (value: Scaled, scale: number): bigint => value.units * 10n ** BigInt(scale - value.scale);

function format({ units, scale }: Scaled): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale > 0 ? digits.slice(digits.length - scale).replace(/0+$/, "") : "";
  const text = fraction ? `${whole}.${fraction}` : whole;
  return negative && text !== "0" ? `-${text}` : text;
}

/** The canonical form: no trailing zeros after the point, no leading zeros, no "-0" ("1.50" → "1.5", "-0.00" → "0"). */
export function normalise(value: string): string {
  return format(scaled(value));
}

export function addDecimals(a: string, b: string): string {
  const x = scaled(a);
  const y = scaled(b);
  const scale = Math.max(x.scale, y.scale);
  return format({ units: rescale(x, scale) + rescale(y, scale), scale });
}

/** The exact sum of the values; "0" for none. */
export function sumDecimals(values: Iterable<string>): string {
  let total = "0";
  for (const value of values) total = addDecimals(total, value);
  return total;
}

export function negate(value: string): string {
  const x = scaled(value);
  return format({ units: -x.units, scale: x.scale });
}

/** -1, 0 or 1; "1.50" and "1.5" compare equal. */
export function compareDecimals(a: string, b: string): -1 | 0 | 1 {
  const x = scaled(a);
  const y = scaled(b);
  const scale = Math.max(x.scale, y.scale);
  const difference = rescale(x, scale) - rescale(y, scale);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

export const sameDecimal = (a: string, b: string): boolean => compareDecimals(a, b) === 0;

/** Integer units of 1/10^scale (the usage ledger's quantities) as a decimal string, exactly. */
export function fromUnits(units: number | bigint, scale: number): string {
  return format({ units: BigInt(units), scale });
}
