import { describe, expect, it } from "vitest";
import { NotADecimal, addDecimals, compareDecimals, fromUnits, negate, normalise, sameDecimal, sumDecimals } from "../../src/statements/decimal";

describe("exact decimals", () => {
  it("sums what a float sum gets wrong", () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(addDecimals("0.1", "0.2")).toBe("0.3");
    const cents = Array.from({ length: 1000 }, () => "0.01");
    expect(cents.reduce((sum, value) => sum + Number(value), 0)).not.toBe(10);
    expect(sumDecimals(cents)).toBe("10");
    expect(sumDecimals(["1234567890123456789.99", "0.01"])).toBe("1234567890123456790");
    expect(sumDecimals(["12.30", "-12.3"])).toBe("0");
    expect(sumDecimals([])).toBe("0");
  });

  it("normalises, compares and negates", () => {
    expect(normalise("1.50")).toBe("1.5");
    expect(normalise("007.000")).toBe("7");
    expect(normalise("-0.00")).toBe("0");
    expect(sameDecimal("1.50", "1.5")).toBe(true);
    expect(compareDecimals("-0.1", "0.01")).toBe(-1);
    expect(compareDecimals("2", "1.9999")).toBe(1);
    expect(negate("12.30")).toBe("-12.3");
    expect(negate("-0.5")).toBe("0.5");
    expect(fromUnits(12_345, 4)).toBe("1.2345");
    expect(fromUnits(10_000, 4)).toBe("1");
    expect(fromUnits(5, 4)).toBe("0.0005");
  });

  it("refuses what is not a plain decimal", () => {
    for (const bad of ["", "1e3", "1.", ".5", "1,5", "abc", "--1", "NaN"]) expect(() => normalise(bad)).toThrow(NotADecimal);
  });
});
