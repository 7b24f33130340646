import { z } from "zod";
import { DELIVERY_STATES, EVENT_TYPES } from "../db/schema/events";
import { INSTANCE_STATUSES, ORDER_FETCH_STATES } from "../db/schema/instances";
import { USAGE_PERIODS, USAGE_RECORD_STATES } from "../db/schema/billing";
import { Cursor, PageLimit } from "../seller-api/common.schema";
import { Entitlement } from "../seller-api/instances.schema";
import { CHECK_NAMES } from "../operations/self-check/self-check.types";
import { ProblemKind, ProblemSeverity } from "../operations/problem-kinds";

/*
 * The operator's admin API (/admin/api/...): the zod schema of every route's input and JSON answer. The admin page
 * is built against these shapes; fields may be added, none renamed or removed. Every time is RFC 3339 UTC with
 * milliseconds (`2026-11-29T10:00:00.000Z`), every answer carries `Cache-Control: no-store`, and every error is
 * `{"error": "<message>"}` (400 with the reason, 401 without detail, 404, 409).
 */

const isoTime = z.iso.datetime({ offset: false });

/** An RFC 3339 time in a query string, with any offset (`Z`, `+08:00`); read as epoch ms. */
export const QueryTime = z.iso
  .datetime({ offset: true, message: "must be an RFC 3339 time, e.g. 2026-11-29T10:00:00Z" })
  .transform((value) => Date.parse(value));

/** `test` is a query string, so "true"/"false" rather than a JSON boolean. */
const QueryBoolean = z.enum(["true", "false"]).transform((value) => value === "true");

export const AdminError = z.object({ error: z.string() });
export type AdminError = z.infer<typeof AdminError>;

// ---- instances -----------------------------------------------------------------------------------------------------

export const AdminInstanceParams = z.strictObject({ id: z.string().min(1).max(64) });

export const AdminInstanceListQuery = z.strictObject({
  status: z.enum(INSTANCE_STATUSES).optional(),
  productId: z.string().min(1).max(64).optional(),
  test: QueryBoolean.optional(),
  /**
   * Matches an instance id, an order id or a customer name, each exactly (case-sensitive). Customer names are stored
   * as query order returned them (instances.customer_name); the inbox keeps none.
   */
  q: z.string().trim().min(1).max(128).optional(),
  cursor: Cursor.optional(),
  limit: PageLimit,
});
export type AdminInstanceListQuery = z.infer<typeof AdminInstanceListQuery>;

/** The seller's entitlement plus what only the operator sees. Never a password. */
export const AdminInstance = Entitlement.extend({
  createKey: z.string(),
  orderKnownAt: isoTime.nullable(),
  provisionedAt: isoTime.nullable(),
  frozenAt: isoTime.nullable(),
  releasedAt: isoTime.nullable(),
  failureReason: z.string().nullable(),
  failureCode: z.string().nullable(),
});
export type AdminInstance = z.infer<typeof AdminInstance>;

export const AdminInstanceList = z.object({
  instances: z.array(AdminInstance),
  /** Pass as ?cursor= (with the same filters) for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type AdminInstanceList = z.infer<typeof AdminInstanceList>;

// ---- timeline ------------------------------------------------------------------------------------------------------

export const TimelineQuery = z.strictObject({
  /** Newest rows read per source (inbox, audit, orders, deliveries, usage records); the list is then merged. */
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
export type TimelineQuery = z.infer<typeof TimelineQuery>;

const InboxFields = {
  at: isoTime,
  inboxId: z.number().int(),
  interface: z.string(),
  activity: z.string(),
  test: z.boolean(),
  resultCode: z.string(),
  /** The request as the inbox keeps it: personal fields removed, parsed JSON (a string when it is not JSON). */
  request: z.unknown(),
  /** The recorded answer, exactly as stored. */
  answer: z.string(),
};

export const TimelineEntry = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("inbox"), ...InboxFields }),
  /** A joint-operation sync for this instance (inbox interface kit-v1 / kit-v2). */
  z.object({ kind: z.literal("kitSync"), ...InboxFields }),
  /** A single sign-on through the tenant's IdP (src/sso): who and when, never a token. */
  z.object({ kind: z.literal("signIn"), at: isoTime, tenantId: z.string(), appId: z.string(), userName: z.string(), role: z.string(), test: z.boolean() }),
  z.object({
    kind: z.literal("audit"),
    at: isoTime,
    seq: z.number().int(),
    event: z.string(),
    fromStatus: z.string().nullable(),
    toStatus: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
  }),
  z.object({
    kind: z.literal("orderFetch"),
    /** When the row last changed (its latest attempt). */
    at: isoTime,
    orderId: z.string(),
    orderLineId: z.string(),
    activity: z.string(),
    fetchState: z.enum(ORDER_FETCH_STATES),
    fetchAttempts: z.number().int(),
    nextFetchAt: isoTime.nullable(),
    fetchedAt: isoTime.nullable(),
    lastError: z.string().nullable(),
    productId: z.string().nullable(),
    skuCode: z.string().nullable(),
  }),
  z.object({
    kind: z.literal("delivery"),
    /** When the event was written. */
    at: isoTime,
    eventId: z.string(),
    type: z.enum(EVENT_TYPES),
    deliveryState: z.enum(DELIVERY_STATES),
    attempts: z.number().int(),
    nextAttemptAt: isoTime.nullable(),
    deliverBy: isoTime.nullable(),
    deliveredAt: isoTime.nullable(),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    /** An instance.created event in webhook mode is the provisioning request itself. */
    provisioning: z.boolean(),
  }),
  z.object({
    kind: z.literal("usageRecord"),
    /** The start of the record's period. */
    at: isoTime,
    meteringSn: z.string(),
    period: z.enum(USAGE_PERIODS),
    state: z.enum(USAGE_RECORD_STATES),
    usageValue: z.string(),
    eventCount: z.number().int(),
    attempts: z.number().int(),
    rejectCode: z.string().nullable(),
    rejectMessage: z.string().nullable(),
    lastError: z.string().nullable(),
    correctionOf: z.string().nullable(),
  }),
]);
export type TimelineEntry = z.infer<typeof TimelineEntry>;

/** The audit chain checked row by row with the chain's MAC key (src/instances/audit-chain.ts). */
export const AuditVerdict = z.union([
  z.object({ ok: z.literal(true), length: z.number().int() }),
  z.object({ ok: z.literal(false), seq: z.number().int(), problem: z.string() }),
]);
export type AuditVerdict = z.infer<typeof AuditVerdict>;

export const Timeline = z.object({
  instance: AdminInstance,
  audit: AuditVerdict,
  /** Oldest first; entries at the same time keep the order inbox, audit, orderFetch, delivery, usageRecord, kitSync, signIn. */
  entries: z.array(TimelineEntry),
  /** True when some source had more rows than `limit`: the oldest ones are left out. */
  truncated: z.boolean(),
});
export type Timeline = z.infer<typeof Timeline>;

// ---- replay, retry, resend ------------------------------------------------------------------------------------------

export const ReplayParams = z.strictObject({
  id: z.string().min(1).max(64),
  inboxId: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, "must be a positive integer")
    .transform(Number),
});

export const ReplayAnswer = z.object({
  inboxId: z.number().int(),
  instanceId: z.string(),
  interface: z.string(),
  activity: z.string(),
  /** `recorded`: the earlier attempt finished and its answer is returned as stored; `applied`: run through the actor now. */
  source: z.enum(["recorded", "applied"]),
  resultCode: z.string(),
  /** `recorded`: the inbox row's answer byte for byte. `applied`: the outcome the actor returned now (never credentials). */
  answer: z.string(),
});
export type ReplayAnswer = z.infer<typeof ReplayAnswer>;

export const RetryProvisioningAnswer = z.object({
  /** The instance after the retry: provisioning, or already active when provisioning finished at once. */
  instance: AdminInstance,
});
export type RetryProvisioningAnswer = z.infer<typeof RetryProvisioningAnswer>;

export const DeliveryParams = z.strictObject({ id: z.string().min(1).max(64) });

export const Delivery = z.object({
  eventId: z.string(),
  type: z.enum(EVENT_TYPES),
  stream: z.string(),
  instanceId: z.string().nullable(),
  test: z.boolean(),
  deliveryState: z.enum(DELIVERY_STATES),
  attempts: z.number().int(),
  nextAttemptAt: isoTime.nullable(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: isoTime.nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
});
export type Delivery = z.infer<typeof Delivery>;

export const ResendAnswer = z.object({
  /** The delivery as set back to pending (fresh attempt budget); the stream's actor has been asked to send it. */
  delivery: Delivery,
});
export type ResendAnswer = z.infer<typeof ResendAnswer>;

export const DeliveryListQuery = z.strictObject({
  /** failed: newest first; pending: soonest next attempt first. */
  state: z.enum(["failed", "pending"]).default("failed"),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type DeliveryListQuery = z.infer<typeof DeliveryListQuery>;

/** GET /admin/api/deliveries?state=failed|pending. */
export const DeliveryList = z.object({ deliveries: z.array(Delivery) });
export type DeliveryList = z.infer<typeof DeliveryList>;

// ---- usage ---------------------------------------------------------------------------------------------------------

/** At most this many hours per usage query: the answer grows with the range. */
export const MAX_USAGE_RANGE_HOURS = 24 * 31;

export const UsageQuery = z.strictObject({
  /** Period starts at or after `from` (default: 24 hours before `to`). */
  from: QueryTime.optional(),
  /** Period starts before `to` (default: now). */
  to: QueryTime.optional(),
  state: z.enum(USAGE_RECORD_STATES).optional(),
});
export type UsageQuery = z.infer<typeof UsageQuery>;

export const UsageRecordView = z.object({
  meteringSn: z.string(),
  instanceId: z.string(),
  productId: z.string().nullable(),
  period: z.enum(USAGE_PERIODS),
  periodBegin: isoTime,
  beginTime: isoTime,
  endTime: isoTime,
  usageValue: z.string(),
  eventCount: z.number().int(),
  state: z.enum(USAGE_RECORD_STATES),
  attempts: z.number().int(),
  deadline: isoTime,
  /** The Marketplace's per-record code and message of a rejected record. */
  rejectCode: z.string().nullable(),
  rejectMessage: z.string().nullable(),
  lastError: z.string().nullable(),
  /** metering_sn of the record this one corrects (late usage or an operator's correction). */
  correctionOf: z.string().nullable(),
});
export type UsageRecordView = z.infer<typeof UsageRecordView>;

export const UsageHour = z.object({
  /** Start of the UTC hour the records' periods begin in. */
  hour: isoTime,
  state: z.enum(USAGE_RECORD_STATES),
  records: z.number().int(),
  /** Sum of usage_value, as a decimal string (≤ 4 decimals). */
  usage: z.string(),
});
export type UsageHour = z.infer<typeof UsageHour>;

export const UsageReport = z.object({
  from: isoTime,
  to: isoTime,
  /** One row per (hour, state) with records, oldest hour first. */
  hours: z.array(UsageHour),
  /** Rejected and expired records of the range (or those of `state`), oldest first, at most 500. */
  problems: z.array(UsageRecordView),
});
export type UsageReport = z.infer<typeof UsageReport>;

export const UsageCorrectParams = z.strictObject({ meteringSn: z.string().min(1).max(128) });

export const CorrectionAnswer = z.object({
  original: UsageRecordView,
  /** The new record (state pending, correctionOf = the original), pushed by the normal push job. */
  correction: UsageRecordView,
  /** False when the original already had a correction: that one is returned and nothing is written. */
  created: z.boolean(),
});
export type CorrectionAnswer = z.infer<typeof CorrectionAnswer>;

// ---- jobs ----------------------------------------------------------------------------------------------------------

export const JobsQuery = z.strictObject({
  /** Newest runs listed per job. */
  runs: z.coerce.number().int().min(1).max(100).default(10),
});
export type JobsQuery = z.infer<typeof JobsQuery>;

export const JobRunView = z.object({
  id: z.number().int(),
  startedAt: isoTime,
  finishedAt: isoTime.nullable(),
  durationMs: z.number().int().nullable(),
  status: z.enum(["running", "ok", "failed"]),
  counts: z.record(z.string(), z.number()).nullable(),
  error: z.string().nullable(),
});
export type JobRunView = z.infer<typeof JobRunView>;

export const JobView = z.object({
  name: z.string(),
  /** The cron expression that runs it (wrangler.toml [triggers]). */
  cron: z.string(),
  everyMinutes: z.number(),
  /** `late`: its last run failed or it has not started for twice its interval (as /healthz). */
  state: z.enum(["ok", "late"]),
  /** How far past its expected next start it is (last start + interval), 0 when not overdue; null if it never ran. */
  lateByMs: z.number().int().nullable(),
  runs: z.array(JobRunView),
});
export type JobView = z.infer<typeof JobView>;

export const JobsAnswer = z.object({ jobs: z.array(JobView) });
export type JobsAnswer = z.infer<typeof JobsAnswer>;

export const JobRunParams = z.strictObject({ job: z.string().min(1).max(64) });

export const JobRunQuery = z.strictObject({
  /** Run the job as of this time (a past hour, for a backfill after an outage); absent = now. Not in the future. */
  asOf: QueryTime.optional(),
});
export type JobRunQuery = z.infer<typeof JobRunQuery>;

export const JobRunAnswer = z.object({
  job: z.string(),
  asOf: isoTime,
  run: JobRunView,
});
export type JobRunAnswer = z.infer<typeof JobRunAnswer>;

// ---- health (unchanged shape of the earlier GET /admin/api/health) ------------------------------------------------

export const AdminHealth = z.object({
  status: z.enum(["ok", "degraded"]),
  version: z.string(),
  settings: z.union([z.literal("ok"), z.object({ setting: z.string(), problem: z.string() })]),
  /** Single sign-on (src/sso/sso-settings.ts): "off" until OIDC_CLIENT_ID is set; a broken setting disables SSO only. */
  sso: z.union([z.enum(["off", "on"]), z.object({ setting: z.string(), problem: z.string() })]),
  /**
   * Alerts (README "Alerts"): "on", "off" (no ALERT_WEBHOOK_URL), or the malformed alert setting, which turns alerts
   * off without touching status: alerts never decide whether the gateway serves the Marketplace.
   */
  alerts: z.union([z.enum(["on", "off"]), z.object({ setting: z.string(), problem: z.string() })]),
  /** Per setting group: "marketplace" (callbacks answer 000005 while it is broken) and each optional feature. */
  features: z.record(z.string(), z.union([z.literal("ok"), z.object({ setting: z.string(), problem: z.string() })])),
  jobs: z.record(
    z.string(),
    z.object({
      state: z.enum(["ok", "late"]),
      everyMinutes: z.number(),
      lastRun: z
        .object({
          startedAt: isoTime.nullable(),
          finishedAt: isoTime.nullable(),
          status: z.enum(["running", "ok", "failed"]),
          counts: z.record(z.string(), z.number()).nullable(),
          error: z.string().nullable(),
        })
        .nullable(),
      recentErrors: z.array(z.object({ startedAt: isoTime.nullable(), error: z.string() })),
    }),
  ),
});
export type AdminHealth = z.infer<typeof AdminHealth>;

// ---- self-check (docs/seller-contract.md "Operations") ------------------------------------------------------------------

export const SelfCheckResultView = z.object({
  name: z.enum(CHECK_NAMES),
  /** A skipped check is ok: nothing to check (its interface is not set up), or not in this run's scope. */
  ok: z.boolean(),
  skipped: z.literal(true).optional(),
  ms: z.number().int(),
  /** What it did and found: ids, hosts and codes, never a key or a personal field. */
  detail: z.string(),
  /** When it failed: what to fix, in a sentence. */
  fix: z.string().optional(),
});

export const SelfCheckRunView = z.object({
  /** Every check that was not skipped passed. */
  ok: z.boolean(),
  ranAt: isoTime,
  durationMs: z.number().int(),
  checks: z.array(SelfCheckResultView),
});
export type SelfCheckRunView = z.infer<typeof SelfCheckRunView>;

export const SelfCheckAnswer = z.object({
  last: SelfCheckRunView.nullable(),
  /** The latest runs, newest first (at most 20): the crons' and the on-demand ones. */
  history: z.array(z.object({ ranAt: isoTime, ok: z.boolean() })),
});
export type SelfCheckAnswer = z.infer<typeof SelfCheckAnswer>;
// ---- problems ------------------------------------------------------------------------------------------------------

export const ProblemState = z.enum(["open", "resolved"]);

export const ProblemsQuery = z.strictObject({
  state: z.enum(["open", "resolved", "all"], { message: 'must be "open", "resolved" or "all"' }).default("open"),
  /** The newest this many (by when they opened). */
  limit: z.coerce.number({ message: "must be a number" }).int().min(1).max(500).default(200),
});
export type ProblemsQuery = z.infer<typeof ProblemsQuery>;

export const Problem = z.object({
  id: z.number().int(),
  kind: ProblemKind,
  state: ProblemState,
  severity: ProblemSeverity,
  openedAt: isoTime,
  lastSeenAt: isoTime,
  resolvedAt: isoTime.nullable(),
  count: z.number().int().min(1),
  subject: z.string(),
  summary: z.string(),
  detail: z.string(),
});
export type Problem = z.infer<typeof Problem>;

export const ProblemList = z.object({ problems: z.array(Problem) });
export type ProblemList = z.infer<typeof ProblemList>;

export const ProblemParams = z.strictObject({
  id: z.coerce.number({ message: "must be a problem id (a positive integer)" }).int("must be a problem id (a positive integer)").min(1, "must be a problem id (a positive integer)"),
});

export const ResolveProblemBody = z.strictObject({
  /** Why it is closed: kept with the problem and in admin_actions (not in the logs). */
  note: z.string({ message: "note is required" }).trim().min(1, "note must not be empty").max(1_000, "note must be at most 1000 characters"),
});
export type ResolveProblemBody = z.infer<typeof ResolveProblemBody>;

export const ResolveProblemAnswer = z.object({ problem: Problem });
export type ResolveProblemAnswer = z.infer<typeof ResolveProblemAnswer>;
