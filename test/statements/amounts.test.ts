import { describe, expect, it } from "vitest";
import { decimalAmountOf, sumDecimals } from "../../src/marketplace-api/order-amounts";
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

describe("sumDecimals", () => {
  it("adds exactly where a float sum would not", () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(sumDecimals(["0.10", "0.20"])).toBe("0.30");
    expect(sumDecimals(["0.1", "0.2"])).toBe("0.3");
    expect(sumDecimals(["100", "0.005", "-0.5"])).toBe("99.505");
    expect(sumDecimals(["-0.10", "0.05"])).toBe("-0.05");
    expect(sumDecimals(["12"])).toBe("12");
    expect(sumDecimals([])).toBe("0");
  });
});

describe("refunds on the statement", () => {
  it("an UNSUBSCRIBE order, a renewal refund and an unsubscription's release are refunds; purchases and renewals are not", () => {
    expect(isRefund("UNSUBSCRIBE", null)).toBe(true);
    expect(isRefund(null, "refreshInstance:UNSUBSCRIBE_RENEWAL_PERIOD")).toBe(true);
    expect(isRefund(null, "refreshLicenseCode:UNSUBSCRIBE_RENEWAL_PERIOD")).toBe(true);
    expect(isRefund(null, "releaseInstance")).toBe(true);
    expect(isRefund(null, "releaseLicenseCode")).toBe(true);
    for (const orderType of ["NEW", "TRIAL", "TRIAL_TO_FORMAL", "RENEW", "CHANGE"]) expect(isRefund(orderType, "refreshInstance:RENEWAL")).toBe(false);
    expect(isRefund("NEW", "newInstance")).toBe(false);
  });

  it("signs by text: a refund gets '-', an amount already negative or zero stays as it is", () => {
    expect(signedAmount("0.10", true)).toBe("-0.10");
    expect(signedAmount("0.10", false)).toBe("0.10");
    expect(signedAmount("-0.10", true)).toBe("-0.10");
    expect(signedAmount("0.00", true)).toBe("0.00");
    expect(signedAmount(null, true)).toBeNull();
  });
});
