/*
 * A statement's period, `YYYY-MM` or `YYYY-Qn`, as the half-open range [from, to) of epoch ms between local midnights
 * in the statement's time zone (the Marketplace's bills are in China time). Offsets come from Intl, so a zone with
 * daylight saving time gets each bound's own offset.
 */

export interface StatementPeriod {
  /** As asked, canonical: "2026-11" or "2026-Q4". */
  name: string;
  fromMs: number;
  toMs: number;
  /** When the Marketplace's bill of the period exists: 00:00 on the 7th of the month after it ends. */
  finalFromMs: number;
}

export class MalformedPeriod extends Error {
  override readonly name = "MalformedPeriod";
  constructor(readonly period: string) {
    super(`period "${period.slice(0, 20)}" must be a month YYYY-MM (2026-11) or a quarter YYYY-Qn (2026-Q4)`);
  }
}

/** The day the Marketplace generates the bill of the month before (issue 22: "generated on the 7th"). */
export const BILL_DAY = 7;

const PERIOD = /^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$/;

export function parsePeriod(period: string, timeZone: string): StatementPeriod {
  const match = PERIOD.exec(period);
  if (!match) throw new MalformedPeriod(period);
  const year = Number(match[1]);
  if (year < 2000 || year > 2999) throw new MalformedPeriod(period);
  // Months 0-based from here on; a quarter is its three months.
  const firstMonth = match[2] ? Number(match[2]) - 1 : (Number(match[3]) - 1) * 3;
  const months = match[2] ? 1 : 3;
  return {
    name: period,
    fromMs: localMidnight(timeZone, year, firstMonth, 1),
    toMs: localMidnight(timeZone, year, firstMonth + months, 1),
    finalFromMs: localMidnight(timeZone, year, firstMonth + months, BILL_DAY),
  };
}

/** Epoch ms of 00:00 on that day in the zone (month 0-based, may run past 11: Date.UTC carries it into the year). */
export function localMidnight(timeZone: string, year: number, month: number, day: number): number {
  const wall = Date.UTC(year, month, day);
  // The offset at the wall time read as UTC is a first guess; the offset at the guess settles it across a DST change.
  const guess = wall - offsetMs(timeZone, wall);
  const settled = wall - offsetMs(timeZone, guess);
  return settled;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The zone's offset from UTC at that instant (ms; +8 h for Asia/Shanghai). */
export function offsetMs(timeZone: string, instant: number): number {
  const parts: Record<string, number> = {};
  for (const part of formatterOf(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(parts.year ?? 0, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** Whether Intl knows the zone (the setting's check). */
export function isTimeZone(value: string): boolean {
  try {
    formatterOf(value);
    return true;
  } catch {
    return false;
  }
}
