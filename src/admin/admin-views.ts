import type { UsageRecord } from "../db/schema/billing";
import type { EventRow } from "../db/schema/events";
import type { Instance } from "../db/schema/instances";
import type { JobRun } from "../db/schema/jobs";
import { entitlementOf } from "../instances/entitlement";
import type { AdminInstance, Delivery, JobRunView, UsageRecordView } from "./admin-api.schema";

/* Rows as the admin API shows them (src/admin/admin-api.schema.ts): times as RFC 3339, never a password. */

export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : iso(ms));

export function adminInstanceOf(row: Instance): AdminInstance {
  return {
    ...entitlementOf(row),
    createKey: row.createKey,
    orderKnownAt: isoOrNull(row.orderKnownAt),
    provisionedAt: isoOrNull(row.provisionedAt),
    frozenAt: isoOrNull(row.frozenAt),
    releasedAt: isoOrNull(row.releasedAt),
    failureReason: row.failureReason,
    failureCode: row.failureCode,
  };
}

export function deliveryOf(row: EventRow): Delivery {
  return {
    eventId: row.id,
    type: row.type,
    stream: row.stream,
    instanceId: row.instanceId,
    test: row.isTest,
    deliveryState: row.deliveryState,
    attempts: row.attempts,
    nextAttemptAt: isoOrNull(row.nextAttemptAt),
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    deliveredAt: isoOrNull(row.deliveredAt),
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

export function usageRecordViewOf(row: UsageRecord): UsageRecordView {
  return {
    meteringSn: row.meteringSn,
    instanceId: row.instanceId,
    productId: row.productId,
    period: row.period,
    periodBegin: iso(row.periodBegin),
    beginTime: iso(row.beginTime),
    endTime: iso(row.endTime),
    usageValue: row.usageValue,
    eventCount: row.eventCount,
    state: row.state,
    attempts: row.attempts,
    deadline: iso(row.deadline),
    rejectCode: row.rejectCode,
    rejectMessage: row.rejectMessage,
    lastError: row.lastError,
    correctionOf: row.correctionOf,
  };
}

export function jobRunViewOf(run: JobRun): JobRunView {
  return {
    id: run.id,
    startedAt: iso(run.startedAt),
    finishedAt: isoOrNull(run.finishedAt),
    durationMs: run.finishedAt === null ? null : run.finishedAt - run.startedAt,
    status: run.status,
    counts: run.counts ?? null,
    error: run.error,
  };
}
