import { describe, expect, it } from "vitest";
import { decimalAmountOf } from "../../src/marketplace-api/order-amounts";
import { isRefund, signedAmount } from "../../src/statements/refunds";

describe("query order's amounts as exact decimal text", () => {
  it("keeps decimal strings as sent, trailing zeros included", () => {
    expect(decimalAmountOf("0.10")).toEqual({ ok: true, value: "0.10" });
    expect(decimalAmountOf("0.20")).toEqual({ ok: true, value: "0.20" });
    expect(decimalAmountOf("100")).toEqual({ ok: true, value: "100" });
    expect(decimalAmountOf("-12.30")).toEqual({ ok: true, value: "-12.30" });
  });

  it("turns JSON numbers into the decimal JSON gave, without float noise or exponents", () => {
    expect(decimalAmountOf(0.1)).toEqual({ ok: true, value: "0.1" });
    expect(decimalAmountOf(33.3)).toEqual({ ok: true, value: "33.3" });
    expect(decimalAmountOf(1e-7)).toEqual({ ok: true, value: "0.0000001" });
    expect(decimalAmountOf(1.5e21)).toEqual({ ok: true, value: "1500000000000000000000" });
    expect(decimalAmountOf(-2.5e-8)).toEqual({ ok: true, value: "-0.000000025" });
  });

  it("reads absent as null and refuses what is no decimal", () => {
    expect(decimalAmountOf(undefined)).toEqual({ ok: true, value: null });
    expect(decimalAmountOf(null)).toEqual({ ok: true, value: null });
    for (const bad of ["12,50", "1e3", "abc", ".5", "5.", { value: 1 }, true]) expect(decimalAmountOf(bad).ok).toBe(false);
  });
});
