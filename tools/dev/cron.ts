/**
 * Just enough of cron to drive wrangler.toml's [triggers] locally: five fields (minute hour day-of-month month
 * day-of-week), each `*`, a number, a range `a-b`, a list `a,b` and steps `*\/n` or `a-b/n`, evaluated in UTC as
 * Cloudflare does. Day-of-month and day-of-week combine with OR when both are restricted (cron's classic rule).
 */
const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
] as const;

export interface CronSchedule {
  expression: string;
  fields: ReadonlyArray<ReadonlySet<number>>;
  domRestricted: boolean;
  dowRestricted: boolean;
}

export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== FIELDS.length) throw new Error(`cron "${expression}": expected 5 fields, got ${parts.length}`);
  const fields = parts.map((part, index) => parseField(part, FIELDS[index]!, expression));
  // 7 is Sunday too.
  const dow = fields[4]!;
  if (dow.has(7)) dow.add(0);
  return { expression, fields, domRestricted: parts[2] !== "*", dowRestricted: parts[4] !== "*" };
}

function parseField(part: string, field: (typeof FIELDS)[number], expression: string): Set<number> {
  const values = new Set<number>();
  for (const item of part.split(",")) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!match) throw new Error(`cron "${expression}": cannot read "${item}" in the ${field.name} field`);
    const [, , from, to, step] = match;
    const start = from === undefined ? field.min : Number(from);
    const end = from === undefined ? field.max : to === undefined ? (step === undefined ? start : field.max) : Number(to);
    const by = step === undefined ? 1 : Number(step);
    if (start < field.min || end > field.max || start > end || by < 1) throw new Error(`cron "${expression}": "${item}" is out of range for the ${field.name} field`);
    for (let value = start; value <= end; value += by) values.add(value);
  }
  return values;
}

export function cronMatches(schedule: CronSchedule, at: Date): boolean {
  const [minute, hour, dom, month, dow] = schedule.fields as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (!minute.has(at.getUTCMinutes()) || !hour.has(at.getUTCHours()) || !month.has(at.getUTCMonth() + 1)) return false;
  const domOk = dom.has(at.getUTCDate());
  const dowOk = dow.has(at.getUTCDay());
  if (schedule.domRestricted && schedule.dowRestricted) return domOk || dowOk;
  return domOk && dowOk;
}

/** The first whole minute strictly after `after` at which the schedule fires (searches up to a year ahead). */
export function nextRun(schedule: CronSchedule, after: number): number {
  let at = Math.floor(after / 60_000) * 60_000 + 60_000;
  const limit = after + 366 * 24 * 3600_000;
  while (at <= limit) {
    if (cronMatches(schedule, new Date(at))) return at;
    at += 60_000;
  }
  throw new Error(`cron "${schedule.expression}" never fires`);
}

/** The `crons = [...]` of wrangler.toml's [triggers] table. */
export function cronsOfWranglerToml(toml: string): string[] {
  const triggers = /^\[triggers\][^[]*?^crons\s*=\s*\[([^\]]*)\]/ms.exec(toml);
  if (!triggers) return [];
  return [...triggers[1]!.matchAll(/"([^"]+)"/g)].map((match) => match[1]!);
}
