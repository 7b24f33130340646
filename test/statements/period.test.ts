import { describe, expect, it } from "vitest";
import { MalformedPeriod, parsePeriod } from "../../src/statements/period";

describe("statement periods", () => {
  it("a month in China time begins at 16:00 UTC of the day before", () => {
    const november = parsePeriod("2026-11", "Asia/Shanghai");
    expect(november.fromMs).toBe(Date.UTC(2026, 9, 31, 16));
    expect(november.toMs).toBe(Date.UTC(2026, 10, 30, 16));
    expect(november.finalFromMs).toBe(Date.UTC(2026, 11, 6, 16));
    // An order at 2026-10-31T16:30Z is 00:30 on 1 November in Shanghai.
    const at = Date.UTC(2026, 9, 31, 16, 30);
    expect(at >= november.fromMs && at < november.toMs).toBe(true);
    const december = parsePeriod("2026-12", "Asia/Shanghai");
    expect(december.toMs).toBe(Date.UTC(2026, 11, 31, 16));
    expect(december.finalFromMs).toBe(Date.UTC(2027, 0, 6, 16));
  });

  it("quarters are three months; the year rolls over", () => {
    const q4 = parsePeriod("2026-Q4", "Asia/Shanghai");
    expect(q4.fromMs).toBe(Date.UTC(2026, 8, 30, 16));
    expect(q4.toMs).toBe(Date.UTC(2026, 11, 31, 16));
    expect(q4.finalFromMs).toBe(Date.UTC(2027, 0, 6, 16));
    expect(parsePeriod("2026-Q1", "Asia/Shanghai").toMs).toBe(parsePeriod("2026-04", "Asia/Shanghai").fromMs);
  });

  it("a zone with daylight saving time gets each bound's own offset", () => {
    // New York: EDT (-4) until 1 Nov 2026 02:00, EST (-5) after; 8 Mar 2026 back to EDT.
    const november = parsePeriod("2026-11", "America/New_York");
    expect(november.fromMs).toBe(Date.UTC(2026, 10, 1, 4));
    expect(november.toMs).toBe(Date.UTC(2026, 11, 1, 5));
    const march = parsePeriod("2026-03", "America/New_York");
    expect(march.fromMs).toBe(Date.UTC(2026, 2, 1, 5));
    expect(march.toMs).toBe(Date.UTC(2026, 3, 1, 4));
    // Southern hemisphere: Sydney leaves DST (+11 → +10) on 5 Apr 2026.
    const april = parsePeriod("2026-04", "Australia/Sydney");
    expect(april.fromMs).toBe(Date.UTC(2026, 2, 31, 13));
    expect(april.toMs).toBe(Date.UTC(2026, 3, 30, 14));
    expect(parsePeriod("2026-01", "UTC").fromMs).toBe(Date.UTC(2026, 0, 1));
  });

  it("anything else is malformed", () => {
    for (const bad of ["2026-13", "2026-00", "2026-1", "2026-Q5", "2026-Q0", "26-11", "2026-11-01", "2026/11", "", "2026-q4", "1999-01"]) {
      expect(() => parsePeriod(bad, "Asia/Shanghai")).toThrow(MalformedPeriod);
    }
  });
});
