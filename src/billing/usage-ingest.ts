import { inArray } from "drizzle-orm";
import { type Db, getDb } from "../db/client";
import { type NewUsageEvent, type NotBilledReason, type UsageEvent, usageEvents } from "../db/schema/billing";
import type { Instance } from "../db/schema/instances";
import { getSettings } from "../env";
import { findInstances } from "../instances/instance.repo";
import { log } from "../observability/log";
import { type StatusChange, notBillableAt, statusChangesSince } from "./billable-time";
import { PERIOD_MS, PUSH_WINDOW_MS, periodOf, periodStart } from "./periods";
import { parseQuantity } from "./quantity";

/** One request carries at most this many events; more is answered 413 so the seller splits the batch. */
export const MAX_EVENTS_PER_BATCH = 1000;
/** 1000 events of ~200 bytes each, with room to spare. */
export const MAX_USAGE_BODY_BYTES = 512 * 1024;
/** A seller's clock may run a little ahead of ours; more than this is a time in the future. */
export const FUTURE_SKEW_MS = 60_000;

const EVENT_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const MAX_INSTANCE_ID_LENGTH = 64;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/i;
/** Values below this are Unix seconds, not milliseconds (the year 2001 in ms); refused so nobody bills 1970. */
const MIN_EPOCH_MS = 1_000_000_000_000;

/**
 * Charging modes that may be billed by usage: V2 order truth says ON_DEMAND; V1 callbacks say "0". A package
 * (ON_DEMAND_PKG) is never the instance usage is pushed for (open-apis §2.3.1, H14).
 */
export const PAY_PER_USE_MODES: ReadonlySet<string> = new Set(["ON_DEMAND", "0"]);

/** D1 binds at most 100 parameters per statement (cloudflare-platform §3.1); an event row binds 5. */
const EVENT_COLUMNS = 5;
const EVENTS_PER_INSERT = Math.floor(100 / EVENT_COLUMNS);
const IDS_PER_LOOKUP = 100;

export type EventErrorCode =
  | "invalid_event"
  | "invalid_event_id"
  | "invalid_instance_id"
  | "invalid_quantity"
  | "invalid_time"
  | "time_in_future"
  | "time_too_old"
  | "before_instance_start"
  | "unknown_instance"
  | "instance_released"
  | "instance_frozen"
  | "instance_failed"
  | "debug_instance"
  | "not_pay_per_use"
  | "event_id_conflict";

export interface RejectedEvent {
  /** Position in the request, so an event without a usable id can still be found. */
  index: number;
  eventId: string | null;
  code: EventErrorCode;
  error: string;
}

export interface IngestResult {
  accepted: string[];
  duplicates: string[];
  rejected: RejectedEvent[];
}

/** The whole request is unusable: 400 (malformed) or 413 (too large). */
export class UsageBatchError extends Error {
  override readonly name = "UsageBatchError";
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

interface Candidate {
  index: number;
  row: Required<Pick<NewUsageEvent, "eventId" | "instanceId" | "quantityUnits" | "eventTime" | "receivedAt">>;
}

/** Reads `{ events: [...] }`; anything else about the envelope is a 400 or 413, about one event a per-event error. */
export function eventsOf(body: unknown): unknown[] {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new UsageBatchError(400, "body must be a JSON object { events: [...] }");
  const events = (body as { events?: unknown }).events;
  if (!Array.isArray(events)) throw new UsageBatchError(400, "events must be an array");
  if (events.length === 0) throw new UsageBatchError(400, "events must not be empty");
  if (events.length > MAX_EVENTS_PER_BATCH) throw new UsageBatchError(413, `at most ${MAX_EVENTS_PER_BATCH} events per request`);
  return events;
}

function readTime(value: unknown): { ok: true; time: number } | { ok: false; problem: string } {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < MIN_EPOCH_MS) return { ok: false, problem: "time must be Unix milliseconds (an integer) or an RFC 3339 string" };
    return { ok: true, time: value };
  }
  if (typeof value === "string" && RFC3339.test(value)) {
    const time = Date.parse(value);
    if (Number.isFinite(time)) return { ok: true, time };
  }
  return { ok: false, problem: "time must be Unix milliseconds (an integer) or an RFC 3339 string such as 2026-11-23T10:15:00Z" };
}

function shapeOf(event: unknown, index: number, now: number): Candidate | RejectedEvent {
  if (event === null || typeof event !== "object" || Array.isArray(event)) {
    return { index, eventId: null, code: "invalid_event", error: "event must be an object { eventId, instanceId, quantity, time }" };
  }
  const { eventId, instanceId, quantity, time } = event as Record<string, unknown>;
  if (typeof eventId !== "string" || !EVENT_ID.test(eventId)) {
    return { index, eventId: typeof eventId === "string" ? eventId.slice(0, 128) : null, code: "invalid_event_id", error: "eventId must be 1–128 characters of A–Z a–z 0–9 . _ : @ -" };
  }
  const reject = (code: EventErrorCode, error: string): RejectedEvent => ({ index, eventId, code, error });
  if (typeof instanceId !== "string" || instanceId.length === 0 || instanceId.length > MAX_INSTANCE_ID_LENGTH) {
    return reject("invalid_instance_id", "instanceId must be a string of 1–64 characters");
  }
  const units = parseQuantity(quantity);
  if (!units.ok) return reject("invalid_quantity", units.problem);
  const parsed = readTime(time);
  if (!parsed.ok) return reject("invalid_time", parsed.problem);
  if (parsed.time > now + FUTURE_SKEW_MS) return reject("time_in_future", "time is in the future");
  return { index, row: { eventId, instanceId, quantityUnits: units.units, eventTime: parsed.time, receivedAt: now } };
}

function sameEvent(stored: Pick<UsageEvent, "instanceId" | "quantityUnits" | "eventTime">, row: Candidate["row"]): boolean {
  return stored.instanceId === row.instanceId && stored.quantityUnits === row.quantityUnits && stored.eventTime === row.eventTime;
}

const STATUS_PROBLEMS = {
  frozen: { code: "instance_frozen", error: "instance was frozen at that time" },
  released: { code: "instance_released", error: "instance was released at that time" },
  failed: { code: "instance_failed", error: "instance failed to provision" },
  "not-started": { code: "before_instance_start", error: "time is before the instance started" },
  "debug-instance": { code: "debug_instance", error: "instance is a debug instance (testFlag 1): its usage never reaches the Marketplace" },
} as const satisfies Record<NotBilledReason, { code: EventErrorCode; error: string }>;

/** Why an instance may not accrue usage at `eventTime`, or null when it may. */
function instanceProblem(
  instance: Instance | undefined,
  changes: readonly StatusChange[] | undefined,
  eventTime: number,
  now: number,
  dailyBilled: (productId: string | null) => boolean,
) {
  if (!instance) return { code: "unknown_instance" as const, error: "no such instance" };
  if (instance.isTest) return STATUS_PROBLEMS["debug-instance"];
  // open-apis §2.3.5: begin_time must not precede the resource's start.
  if (eventTime < instance.createdAt) return STATUS_PROBLEMS["not-started"];
  // Judged by when the usage happened, not by the status now (issue 9 item 7): 10:30 usage reported after a 10:45
  // freeze is billable, usage after the freeze or release, or while frozen, is not.
  const notBillable = notBillableAt(instance, changes, eventTime);
  if (notBillable) return STATUS_PROBLEMS[notBillable];
  // Unknown until query order answers; refusing then would drop real usage of a real pay-per-use instance.
  if (instance.chargingMode !== null && !PAY_PER_USE_MODES.has(instance.chargingMode)) {
    return { code: "not_pay_per_use" as const, error: `instance is not pay-per-use (chargingMode ${instance.chargingMode})` };
  }
  const period = dailyBilled(instance.productId) ? "daily" : "hourly";
  const periodEnd = periodStart(period, eventTime) + PERIOD_MS[period];
  if (now >= periodEnd + PUSH_WINDOW_MS[period]) {
    return { code: "time_too_old" as const, error: `time is too old: ${period} usage must be reported within ${PUSH_WINDOW_MS[period] / 60_000} minutes after its ${period === "daily" ? "day" : "hour"} ends` };
  }
  return null;
}

async function storedEvents(db: Db, eventIds: readonly string[]): Promise<Map<string, UsageEvent>> {
  const found = new Map<string, UsageEvent>();
  for (let i = 0; i < eventIds.length; i += IDS_PER_LOOKUP) {
    const chunk = eventIds.slice(i, i + IDS_PER_LOOKUP);
    for (const row of await db.select().from(usageEvents).where(inArray(usageEvents.eventId, chunk)).all()) found.set(row.eventId, row);
  }
  return found;
}

async function instancesById(db: Db, ids: readonly string[]): Promise<Map<string, Instance>> {
  const found = new Map<string, Instance>();
  for (let i = 0; i < ids.length; i += IDS_PER_LOOKUP) {
    for (const row of await findInstances(db, ids.slice(i, i + IDS_PER_LOOKUP))) found.set(row.id, row);
  }
  return found;
}

/**
 * Stores a batch of usage events, idempotent by event id: every event is accepted (stored now), a duplicate (stored
 * before, same content) or rejected with a reason; valid events are stored even when others are not. An event id
 * reused with different content is a conflict and changes nothing.
 */
export async function ingestUsage(env: Env, body: unknown, now: number): Promise<IngestResult> {
  const events = eventsOf(body);
  const db = getDb(env);
  const settings = getSettings(env);
  const dailyBilled = (productId: string | null) => periodOf(settings, productId) === "daily";
  const result: IngestResult = { accepted: [], duplicates: [], rejected: [] };

  // Within the batch: the first occurrence of an id decides; a repeat is a duplicate or a conflict.
  const firstById = new Map<string, Candidate>();
  const candidates: Candidate[] = [];
  for (const [index, event] of events.entries()) {
    const shaped = shapeOf(event, index, now);
    if (!("row" in shaped)) {
      result.rejected.push(shaped);
      continue;
    }
    const first = firstById.get(shaped.row.eventId);
    if (!first) {
      firstById.set(shaped.row.eventId, shaped);
      candidates.push(shaped);
    } else if (sameEvent(first.row, shaped.row)) {
      result.duplicates.push(shaped.row.eventId);
    } else {
      result.rejected.push({ index, eventId: shaped.row.eventId, code: "event_id_conflict", error: "eventId appears twice in this batch with different content" });
    }
  }

  // A retry of an event we already hold is a duplicate even if its instance has since been frozen or released.
  const stored = await storedEvents(db, candidates.map((c) => c.row.eventId));
  const fresh: Candidate[] = [];
  for (const candidate of candidates) {
    const existing = stored.get(candidate.row.eventId);
    if (!existing) fresh.push(candidate);
    else classifyExisting(result, candidate, existing);
  }

  const instanceIds = [...new Set(fresh.map((c) => c.row.instanceId))];
  const instances = await instancesById(db, instanceIds);
  const oldest = Math.min(...fresh.map((c) => c.row.eventTime));
  const changes = await statusChangesSince(db, instanceIds.filter((id) => instances.has(id)), oldest);
  const valid: Candidate[] = [];
  for (const candidate of fresh) {
    const instanceId = candidate.row.instanceId;
    const problem = instanceProblem(instances.get(instanceId), changes.get(instanceId), candidate.row.eventTime, now, dailyBilled);
    if (problem) result.rejected.push({ index: candidate.index, eventId: candidate.row.eventId, ...problem });
    else valid.push(candidate);
  }

  const inserted = new Set<string>();
  if (valid.length > 0) {
    const statements = [];
    for (let i = 0; i < valid.length; i += EVENTS_PER_INSERT) {
      const rows = valid.slice(i, i + EVENTS_PER_INSERT).map((c) => c.row);
      statements.push(db.insert(usageEvents).values(rows).onConflictDoNothing({ target: usageEvents.eventId }).returning({ eventId: usageEvents.eventId }));
    }
    const [first, ...rest] = statements;
    if (first) {
      for (const rows of await db.batch([first, ...rest])) for (const row of rows) inserted.add(row.eventId);
    }
  }
  const raced = valid.filter((c) => !inserted.has(c.row.eventId));
  // Another request stored the same id between our read and our insert: read back what won.
  const winners = raced.length > 0 ? await storedEvents(db, raced.map((c) => c.row.eventId)) : new Map<string, UsageEvent>();
  for (const candidate of valid) {
    if (inserted.has(candidate.row.eventId)) {
      result.accepted.push(candidate.row.eventId);
      continue;
    }
    const existing = winners.get(candidate.row.eventId);
    if (existing) classifyExisting(result, candidate, existing);
    else throw new Error(`usage event ${candidate.row.eventId} was neither inserted nor found`);
  }
  result.rejected.sort((a, b) => a.index - b.index);
  log("info", "usage.ingested", { events: events.length, accepted: result.accepted.length, duplicates: result.duplicates.length, rejected: result.rejected.length });
  return result;
}

function classifyExisting(result: IngestResult, candidate: Candidate, existing: UsageEvent): void {
  if (sameEvent(existing, candidate.row)) result.duplicates.push(candidate.row.eventId);
  else result.rejected.push({ index: candidate.index, eventId: candidate.row.eventId, code: "event_id_conflict", error: "eventId was already used for a different event; nothing changed" });
}
