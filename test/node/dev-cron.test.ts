import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cronMatches, cronsOfWranglerToml, nextRun, parseCron } from "../../tools/dev/cron";

const at = (iso: string) => Date.parse(iso);

describe("the local cron driver's schedule", () => {
  it("reads every trigger of wrangler.toml, so npm run dev drives the same jobs as production", () => {
    const crons = cronsOfWranglerToml(readFileSync("wrangler.toml", "utf8"));
    expect(crons.length).toBeGreaterThan(0);
    for (const cron of crons) expect(() => parseCron(cron)).not.toThrow();
  });

  it("fires */5 on the next multiple of five minutes, and never at the minute it is asked in", () => {
    const every5 = parseCron("*/5 * * * *");
    expect(new Date(nextRun(every5, at("2026-12-06T10:02:30Z"))).toISOString()).toBe("2026-12-06T10:05:00.000Z");
    expect(new Date(nextRun(every5, at("2026-12-06T10:05:00Z"))).toISOString()).toBe("2026-12-06T10:10:00.000Z");
  });

  it("fires an hourly minute and a daily time in UTC", () => {
    expect(new Date(nextRun(parseCron("7 * * * *"), at("2026-12-06T10:08:00Z"))).toISOString()).toBe("2026-12-06T11:07:00.000Z");
    expect(new Date(nextRun(parseCron("30 3 * * *"), at("2026-12-06T03:31:00Z"))).toISOString()).toBe("2026-12-07T03:30:00.000Z");
  });

  it("combines day of month and day of week with OR when both are set, and reads ranges, lists and steps", () => {
    const schedule = parseCron("0 0 1 * 1");
    expect(cronMatches(schedule, new Date("2026-12-07T00:00:00Z"))).toBe(true); // a Monday
    expect(cronMatches(schedule, new Date("2026-12-01T00:00:00Z"))).toBe(true); // the 1st, a Tuesday
    expect(cronMatches(schedule, new Date("2026-12-02T00:00:00Z"))).toBe(false);
    const business = parseCron("0-30/15 9,17 * * 1-5");
    expect(cronMatches(business, new Date("2026-12-07T17:30:00Z"))).toBe(true);
    expect(cronMatches(business, new Date("2026-12-07T17:20:00Z"))).toBe(false);
    expect(cronMatches(business, new Date("2026-12-06T09:00:00Z"))).toBe(false); // a Sunday
  });

  it("refuses what it cannot read instead of never firing", () => {
    expect(() => parseCron("*/5 * * *")).toThrow(/5 fields/);
    expect(() => parseCron("61 * * * *")).toThrow(/out of range/);
    expect(() => parseCron("@hourly * * * *")).toThrow(/cannot read/);
  });
});
