import { InvalidRequestError } from "./errors";

/**
 * Every time format the Marketplace uses, in one place (spec README point 6, marketplace-open-apis §6). Parsing
 * yields epoch milliseconds; formatting takes them. A value is valid only if it names a real instant: the parts are
 * rebuilt through Date.UTC and must come back unchanged, which rejects month 13, Feb 30, hour 24, second 60 and so on.
 */

export type TimeCheck = { ok: true; epochMs: number } | { ok: false; problem: string };

export interface TimeFormat {
  /** The format as named in error messages, e.g. "UTC yyyyMMddHHmmssSSS". */
  readonly label: string;
  /** Reads a value; never throws. `problem` names what is wrong without quoting the value. */
  check(text: string): TimeCheck;
  /** Writes epoch ms. Throws RangeError for a non-finite time or a year outside 100–9999 (a bug, not bad input). */
  format(epochMs: number): string;
}

// China has had no daylight saving time since 1991, so UTC+8 is a fixed offset.
const UTC_PLUS_8_MS = 8 * 60 * 60 * 1000;

interface Parts {
  year: number;
  month: number;
  day: number;
  hour?: number;
  minute?: number;
  second?: number;
  millis?: number;
}

function instantOf(p: Parts): number | undefined {
  const { year, month, day, hour = 0, minute = 0, second = 0, millis = 0 } = p;
  // Date.UTC maps years 0–99 to 1900–1999; no Marketplace time lives there, so those years are simply invalid.
  if (year < 100) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const d = new Date(ms);
  const same =
    d.getUTCFullYear() === year &&
    d.getUTCMonth() === month - 1 &&
    d.getUTCDate() === day &&
    d.getUTCHours() === hour &&
    d.getUTCMinutes() === minute &&
    d.getUTCSeconds() === second &&
    d.getUTCMilliseconds() === millis;
  return same ? ms : undefined;
}

function utcPartsOf(epochMs: number): Required<Parts> {
  if (!Number.isFinite(epochMs)) throw new RangeError(`not a time: ${epochMs}`);
  const d = new Date(epochMs);
  const year = d.getUTCFullYear();
  if (year < 100 || year > 9999) throw new RangeError(`year ${year} cannot be written in four digits`);
  return {
    year,
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millis: d.getUTCMilliseconds(),
  };
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");
const num = (s: string | undefined) => (s === undefined ? 0 : Number(s));

function checked(text: unknown, label: string, read: (text: string) => Parts | undefined, offsetMs = 0): TimeCheck {
  const parts = typeof text === "string" ? read(text) : undefined;
  if (!parts) return { ok: false, problem: `expected ${label}` };
  const local = instantOf(parts);
  if (local === undefined) return { ok: false, problem: `not a real date/time (${label})` };
  return { ok: true, epochMs: local - offsetMs };
}

const DIGITS_17 = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})$/;
const DIGITS_14_OR_17 = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})?$/;

/** Year to second from capture groups 1–6, the order every date-time pattern here uses. */
function dateTimeParts(m: RegExpExecArray, millis: number): Parts {
  return { year: num(m[1]), month: num(m[2]), day: num(m[3]), hour: num(m[4]), minute: num(m[5]), second: num(m[6]), millis };
}

function compactParts(re: RegExp) {
  return (text: string): Parts | undefined => {
    const m = re.exec(text);
    return m ? dateTimeParts(m, num(m[7])) : undefined;
  };
}

const compact14 = (p: Parts) => `${pad(p.year, 4)}${pad(p.month)}${pad(p.day)}${pad(p.hour ?? 0)}${pad(p.minute ?? 0)}${pad(p.second ?? 0)}`;
const compact17 = (p: Parts) => `${compact14(p)}${pad(p.millis ?? 0, 3)}`;

function compactFormat(label: string, re: RegExp, write: (p: Parts) => string, offsetMs = 0): TimeFormat {
  return {
    label,
    check: (text) => checked(text, label, compactParts(re), offsetMs),
    format: (epochMs) => write(utcPartsOf(epochMs + offsetMs)),
  };
}

/** V1 basic `timeStamp` (and the old License callbacks): UTC `yyyyMMddHHmmssSSS` (saas-production-interface §5.1). */
export const V1_TIMESTAMP: TimeFormat = compactFormat("UTC yyyyMMddHHmmssSSS", DIGITS_17, compact17);

/** Kit `timeStamp` and `currentSyncTime`: UTC+8 `yyyyMMddHHmmssSSS`, e.g. `20220420114117642` (§6). */
export const KIT_TIMESTAMP: TimeFormat = compactFormat("UTC+8 yyyyMMddHHmmssSSS", DIGITS_17, compact17, UTC_PLUS_8_MS);

/**
 * Compact UTC `yyyyMMddHHmmss`: V2 `refreshInstance` `expireTime`, V1 `expireTime`, License `expireTime` and
 * `real_effect_time`, Query Order `createTime`/`expireTime` (saas-production-interface §3.3, §5.3;
 * marketplace-open-apis §2.1, §6). The published `refreshInstance` example has 17 digits, so milliseconds are accepted
 * on read (README point 6, open question 8). Written with 14 digits.
 */
export const COMPACT_UTC: TimeFormat = compactFormat("UTC yyyyMMddHHmmss", DIGITS_14_OR_17, compact14);

/** Open-API times, e.g. usage records: UTC `yyyyMMdd'T'HHmmss'Z'`, 16 characters (open-apis §2.3, §6). */
export const OPEN_API_TIME: TimeFormat = {
  label: "UTC yyyyMMddTHHmmssZ",
  check: (text) =>
    checked(text, "UTC yyyyMMddTHHmmssZ", (t) => {
      const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(t);
      return m ? dateTimeParts(m, 0) : undefined;
    }),
  format: (epochMs) => {
    const p = utcPartsOf(epochMs);
    return `${pad(p.year, 4)}${pad(p.month)}${pad(p.day)}T${pad(p.hour)}${pad(p.minute)}${pad(p.second)}Z`;
  },
};

/** What the online-License example writes after the time; Java's `z` pattern letter, copied as the docs show it. */
const ONLINE_LICENSE_ZONE_SUFFIX = " z";

/**
 * Online-License `effectiveTime`/`expireTime`: UTC, documented only by the example `"2023-10-27 10:30:15 z"`
 * (open-apis §3.4). The trailing zone is what Java's `yyyy-MM-dd HH:mm:ss z` would print, so we read `z`/`Z`, `UTC`,
 * `GMT`, a numeric offset (`+08:00`, `+0800`, `GMT+08:00`) or nothing (= UTC); a `T` separator and up to three
 * fraction digits are tolerated. Written exactly like the example.
 */
export const ONLINE_LICENSE_TIME: TimeFormat = {
  label: "UTC yyyy-MM-dd HH:mm:ss z",
  check: (text) => {
    const label = "UTC yyyy-MM-dd HH:mm:ss z";
    const m =
      typeof text === "string"
        ? /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?: ?(?:(z|utc|gmt)|(?:utc|gmt)?([+-])(\d{2}):?(\d{2})))?$/i.exec(
            text,
          )
        : null;
    if (!m) return { ok: false, problem: `expected ${label}` };
    const offsetHours = num(m[10]);
    const offsetMinutes = num(m[11]);
    if (offsetHours > 14 || offsetMinutes > 59) return { ok: false, problem: `not a real time zone offset (${label})` };
    const offsetMs = (m[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
    const parts = dateTimeParts(m, m[7] === undefined ? 0 : Number(m[7].padEnd(3, "0")));
    return checked(text, label, () => parts, offsetMs);
  },
  format: (epochMs) => {
    const p = utcPartsOf(epochMs);
    return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${ONLINE_LICENSE_ZONE_SUFFIX}`;
  },
};

/**
 * Kit user `extension.entryDate`: `yyyy-MM-d` (§6.3), a calendar date with no zone. As Java reads that pattern,
 * month and day may have one or two digits. Parsed to midnight UTC of that date, so format(parse(x)) is stable.
 */
export const ENTRY_DATE: TimeFormat = {
  label: "yyyy-MM-d",
  check: (text) =>
    checked(text, "yyyy-MM-d", (t) => {
      const m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(t);
      return m ? { year: num(m[1]), month: num(m[2]), day: num(m[3]) } : undefined;
    }),
  format: (epochMs) => {
    const p = utcPartsOf(epochMs);
    return `${pad(p.year, 4)}-${pad(p.month)}-${p.day}`;
  },
};

/** `queryInstance` `usageInfo[].statisticalTime`: UTC `yyyyMMddHHmmssSSS` (§3.2). */
export const STATISTICAL_TIME: TimeFormat = compactFormat("UTC yyyyMMddHHmmssSSS", DIGITS_17, compact17);

/** Parses a value of `format`, or throws InvalidRequestError (000002) naming `field` and the expected format. */
export function parseTime(format: TimeFormat, text: string, field: string): number {
  const result = format.check(text);
  if (result.ok) return result.epochMs;
  const shown = typeof text === "string" ? JSON.stringify(text.slice(0, 40)) : typeof text;
  throw new InvalidRequestError(`${field}: ${result.problem}`, `${field} was ${shown}`);
}

export function formatTime(format: TimeFormat, epochMs: number): string {
  return format.format(epochMs);
}

export const parseV1TimeStamp = (text: string, field = "timeStamp") => parseTime(V1_TIMESTAMP, text, field);
export const formatV1TimeStamp = (epochMs: number) => V1_TIMESTAMP.format(epochMs);
export const parseKitTimeStamp = (text: string, field = "timeStamp") => parseTime(KIT_TIMESTAMP, text, field);
export const formatKitTimeStamp = (epochMs: number) => KIT_TIMESTAMP.format(epochMs);
export const parseCompactUtc = (text: string, field: string) => parseTime(COMPACT_UTC, text, field);
export const formatCompactUtc = (epochMs: number) => COMPACT_UTC.format(epochMs);
/** The V2 `refreshInstance` name for COMPACT_UTC (14 or 17 digits in, 14 out). */
export const parseV2ExpireTime = (text: string, field = "expireTime") => parseTime(COMPACT_UTC, text, field);
export const formatV2ExpireTime = (epochMs: number) => COMPACT_UTC.format(epochMs);
export const parseOpenApiTime = (text: string, field: string) => parseTime(OPEN_API_TIME, text, field);
export const formatOpenApiTime = (epochMs: number) => OPEN_API_TIME.format(epochMs);
export const parseOnlineLicenseTime = (text: string, field: string) => parseTime(ONLINE_LICENSE_TIME, text, field);
export const formatOnlineLicenseTime = (epochMs: number) => ONLINE_LICENSE_TIME.format(epochMs);
export const parseEntryDate = (text: string, field = "entryDate") => parseTime(ENTRY_DATE, text, field);
export const formatEntryDate = (epochMs: number) => ENTRY_DATE.format(epochMs);
export const parseStatisticalTime = (text: string, field = "statisticalTime") => parseTime(STATISTICAL_TIME, text, field);
export const formatStatisticalTime = (epochMs: number) => STATISTICAL_TIME.format(epochMs);
