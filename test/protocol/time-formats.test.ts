import { describe, expect, it } from "vitest";
import { InvalidRequestError } from "../../src/protocol/errors";
import {
  COMPACT_UTC,
  KIT_TIMESTAMP,
  V1_TIMESTAMP,
  formatCompactUtc,
  formatEntryDate,
  formatKitTimeStamp,
  formatOnlineLicenseTime,
  formatOpenApiTime,
  formatStatisticalTime,
  formatTime,
  formatV1TimeStamp,
  formatV2ExpireTime,
  parseCompactUtc,
  parseEntryDate,
  parseKitTimeStamp,
  parseOnlineLicenseTime,
  parseOpenApiTime,
  parseStatisticalTime,
  parseTime,
  parseV1TimeStamp,
  parseV2ExpireTime,
} from "../../src/protocol/time-formats";
import { invalidRequestMessage } from "../support/invalid-request";

const HOUR = 3_600_000;

describe("V1 timeStamp: UTC yyyyMMddHHmmssSSS", () => {
  it("parses the spec example shape and formats it back", () => {
    const ms = parseV1TimeStamp("20240530120000123", "timeStamp");
    expect(ms).toBe(Date.UTC(2024, 4, 30, 12, 0, 0, 123));
    expect(formatV1TimeStamp(ms)).toBe("20240530120000123");
    expect(formatV1TimeStamp(Date.UTC(2001, 0, 2, 3, 4, 5, 6))).toBe("20010102030405006");
  });

  it("rejects wrong lengths and non-digits, naming the field and format", () => {
    for (const bad of ["2024053012000012", "202405301200001234", "20240530120000", "2024053012000012a", " 20240530120000123", "2024-05-30T12:00:00", ""]) {
      expect(invalidRequestMessage(() => parseV1TimeStamp(bad, "timeStamp"))).toBe("timeStamp: expected UTC yyyyMMddHHmmssSSS");
    }
  });

  it("rejects impossible dates and times through the Date.UTC round trip", () => {
    const cases = {
      "month 13": "20241301000000000",
      "month 0": "20240001000000000",
      "day 0": "20240100000000000",
      "Feb 30": "20240230000000000",
      "Feb 29 of a common year": "20230229000000000",
      "Apr 31": "20240431000000000",
      "hour 24": "20240530240000000",
      "minute 60": "20240530126000000",
      "second 60": "20240530120060000",
      "year 0099": "00990530120000000",
    };
    for (const [what, bad] of Object.entries(cases)) {
      expect(invalidRequestMessage(() => parseV1TimeStamp(bad, "timeStamp")), what).toBe(
        "timeStamp: not a real date/time (UTC yyyyMMddHHmmssSSS)",
      );
    }
    expect(parseV1TimeStamp("20240229235959999", "timeStamp")).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 999));
  });

  it("keeps the value out of the message but in the log detail", () => {
    let caught: unknown;
    try {
      parseV1TimeStamp("20241301000000000", "timeStamp");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidRequestError);
    expect((caught as InvalidRequestError).message).not.toContain("20241301");
    expect((caught as InvalidRequestError).detail).toContain("20241301000000000");
  });
});

describe("kit timeStamp: UTC+8 yyyyMMddHHmmssSSS", () => {
  it("reads the spec example 20220420114117642 as 03:41:17.642 UTC", () => {
    const ms = parseKitTimeStamp("20220420114117642", "timeStamp");
    expect(ms).toBe(Date.UTC(2022, 3, 20, 3, 41, 17, 642));
    expect(formatKitTimeStamp(ms)).toBe("20220420114117642");
  });

  it("crosses midnight and year ends by the fixed offset", () => {
    expect(parseKitTimeStamp("20240101050000000", "timeStamp")).toBe(Date.UTC(2023, 11, 31, 21, 0, 0, 0));
    expect(formatKitTimeStamp(Date.UTC(2023, 11, 31, 16, 0, 0, 0))).toBe("20240101000000000");
    // Same digits, eight hours apart: the two 17-digit formats differ only by the zone.
    expect(parseV1TimeStamp("20240530120000123", "t") - parseKitTimeStamp("20240530120000123", "t")).toBe(8 * HOUR);
  });

  it("rejects the same invalid values", () => {
    expect(invalidRequestMessage(() => parseKitTimeStamp("20220230114117642", "currentSyncTime"))).toBe(
      "currentSyncTime: not a real date/time (UTC+8 yyyyMMddHHmmssSSS)",
    );
    expect(invalidRequestMessage(() => parseKitTimeStamp("2022042011411764", "timeStamp"))).toBe("timeStamp: expected UTC+8 yyyyMMddHHmmssSSS");
  });
});

describe("V2 expireTime and order/license times: UTC yyyyMMddHHmmss", () => {
  it("reads 14 digits, and 17 digits as the published example has", () => {
    expect(parseV2ExpireTime("20251121235959")).toBe(Date.UTC(2025, 10, 21, 23, 59, 59));
    expect(parseV2ExpireTime("20251121235959256")).toBe(Date.UTC(2025, 10, 21, 23, 59, 59, 256));
    expect(parseCompactUtc("20241121090846", "createTime")).toBe(Date.UTC(2024, 10, 21, 9, 8, 46));
  });

  it("writes 14 digits", () => {
    expect(formatV2ExpireTime(Date.UTC(2025, 10, 21, 23, 59, 59, 256))).toBe("20251121235959");
    expect(formatCompactUtc(Date.UTC(2024, 0, 1))).toBe("20240101000000");
  });

  it("rejects 15/16/18 digits and impossible dates, naming the field", () => {
    for (const bad of ["202511212359591", "2025112123595912", "202511212359592561", "2025112123595", "20251121T235959"]) {
      expect(invalidRequestMessage(() => parseV2ExpireTime(bad))).toBe("expireTime: expected UTC yyyyMMddHHmmss");
    }
    expect(invalidRequestMessage(() => parseV2ExpireTime("20250230000000"))).toBe("expireTime: not a real date/time (UTC yyyyMMddHHmmss)");
    expect(invalidRequestMessage(() => parseCompactUtc("20251121240000", "real_effect_time"))).toBe(
      "real_effect_time: not a real date/time (UTC yyyyMMddHHmmss)",
    );
  });
});

describe("open-API time: UTC yyyyMMdd'T'HHmmss'Z'", () => {
  it("parses and formats the usage-record example", () => {
    const ms = parseOpenApiTime("20220809T091000Z", "record_time");
    expect(ms).toBe(Date.UTC(2022, 7, 9, 9, 10, 0));
    expect(formatOpenApiTime(ms)).toBe("20220809T091000Z");
    expect(formatOpenApiTime(Date.UTC(2022, 7, 9, 9, 10, 0, 999))).toBe("20220809T091000Z");
  });

  it("rejects other shapes and impossible values", () => {
    for (const bad of ["20220809091000", "20220809T091000", "20220809t091000z", "2022-08-09T09:10:00Z"]) {
      expect(invalidRequestMessage(() => parseOpenApiTime(bad, "begin_time"))).toBe("begin_time: expected UTC yyyyMMddTHHmmssZ");
    }
    expect(invalidRequestMessage(() => parseOpenApiTime("20221309T091000Z", "begin_time"))).toBe(
      "begin_time: not a real date/time (UTC yyyyMMddTHHmmssZ)",
    );
  });
});

describe("online-License time: \"2023-10-27 10:30:15 z\"", () => {
  const expected = Date.UTC(2023, 9, 27, 10, 30, 15);

  it("parses the spec example and writes it back exactly", () => {
    expect(parseOnlineLicenseTime("2023-10-27 10:30:15 z", "effectiveTime")).toBe(expected);
    expect(formatOnlineLicenseTime(expected)).toBe("2023-10-27 10:30:15 z");
  });

  it("reads the zone spellings Java's z pattern may produce, and numeric offsets", () => {
    for (const text of ["2023-10-27 10:30:15 Z", "2023-10-27 10:30:15 UTC", "2023-10-27 10:30:15 GMT", "2023-10-27 10:30:15", "2023-10-27T10:30:15Z"]) {
      expect(parseOnlineLicenseTime(text, "effectiveTime"), text).toBe(expected);
    }
    expect(parseOnlineLicenseTime("2023-10-27 18:30:15 +08:00", "effectiveTime")).toBe(expected);
    expect(parseOnlineLicenseTime("2023-10-27 18:30:15 GMT+0800", "effectiveTime")).toBe(expected);
    expect(parseOnlineLicenseTime("2023-10-27 05:30:15 -05:00", "effectiveTime")).toBe(expected);
    expect(parseOnlineLicenseTime("2023-10-27 10:30:15.5 z", "effectiveTime")).toBe(expected + 500);
  });

  it("rejects other zones, shapes and impossible values", () => {
    for (const bad of ["2023-10-27 10:30:15 CST", "2023/10/27 10:30:15 z", "20231027103015", "2023-10-27 10:30 z", "2023-10-27 10:30:15 z "]) {
      expect(invalidRequestMessage(() => parseOnlineLicenseTime(bad, "effectiveTime")), bad).toBe("effectiveTime: expected UTC yyyy-MM-dd HH:mm:ss z");
    }
    expect(invalidRequestMessage(() => parseOnlineLicenseTime("2023-02-29 10:30:15 z", "expireTime"))).toBe(
      "expireTime: not a real date/time (UTC yyyy-MM-dd HH:mm:ss z)",
    );
    expect(invalidRequestMessage(() => parseOnlineLicenseTime("2023-10-27 10:30:15 +15:00", "expireTime"))).toBe(
      "expireTime: not a real time zone offset (UTC yyyy-MM-dd HH:mm:ss z)",
    );
  });
});

describe("kit user entryDate: yyyy-MM-d", () => {
  it("reads one- or two-digit month and day as midnight UTC and writes the documented pattern", () => {
    const ms = Date.UTC(2023, 0, 5);
    expect(parseEntryDate("2023-01-5")).toBe(ms);
    expect(parseEntryDate("2023-1-05")).toBe(ms);
    expect(parseEntryDate("2023-01-05")).toBe(ms);
    expect(formatEntryDate(ms)).toBe("2023-01-5");
    expect(formatEntryDate(Date.UTC(2023, 11, 25))).toBe("2023-12-25");
  });

  it("rejects impossible dates and other shapes", () => {
    expect(invalidRequestMessage(() => parseEntryDate("2023-02-30"))).toBe("entryDate: not a real date/time (yyyy-MM-d)");
    expect(invalidRequestMessage(() => parseEntryDate("2023-13-1"))).toBe("entryDate: not a real date/time (yyyy-MM-d)");
    for (const bad of ["2023-001-5", "23-1-5", "2023/1/5", "2023-01-05 00:00:00"]) {
      expect(invalidRequestMessage(() => parseEntryDate(bad)), bad).toBe("entryDate: expected yyyy-MM-d");
    }
  });
});

describe("queryInstance statisticalTime: UTC yyyyMMddHHmmssSSS", () => {
  it("round-trips and rejects", () => {
    const ms = Date.UTC(2024, 5, 1, 0, 0, 0, 0);
    expect(formatStatisticalTime(ms)).toBe("20240601000000000");
    expect(parseStatisticalTime("20240601000000000")).toBe(ms);
    expect(invalidRequestMessage(() => parseStatisticalTime("20240631000000000"))).toBe(
      "statisticalTime: not a real date/time (UTC yyyyMMddHHmmssSSS)",
    );
  });
});

describe("generic entry points", () => {
  it("parseTime/formatTime take any format", () => {
    expect(parseTime(KIT_TIMESTAMP, "20220420114117642", "x")).toBe(parseKitTimeStamp("20220420114117642"));
    expect(formatTime(V1_TIMESTAMP, 0)).toBe("19700101000000000");
    expect(COMPACT_UTC.check("20250230000000")).toEqual({ ok: false, problem: "not a real date/time (UTC yyyyMMddHHmmss)" });
    expect(COMPACT_UTC.check("20250228000000")).toEqual({ ok: true, epochMs: Date.UTC(2025, 1, 28) });
  });

  it("a non-string value is rejected, not thrown as a TypeError", () => {
    expect(invalidRequestMessage(() => parseV1TimeStamp(20240530120000123 as unknown as string, "timeStamp"))).toBe(
      "timeStamp: expected UTC yyyyMMddHHmmssSSS",
    );
  });

  it("formatting a time that cannot be written is a RangeError (a bug, not a bad request)", () => {
    expect(() => formatV1TimeStamp(Number.NaN)).toThrow(RangeError);
    expect(() => formatV1TimeStamp(Date.UTC(10000, 0, 1))).toThrow(RangeError);
  });
});
