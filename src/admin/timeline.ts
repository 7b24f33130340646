import { asc, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { usageRecords } from "../db/schema/billing";
import { events } from "../db/schema/events";
import { type AuditEvent, type Instance, auditEvents, inbox, orders } from "../db/schema/instances";
import { auditKeyOf, verifyAuditChain } from "../instances/audit-chain";
import { signInsOf } from "../sso/sso.repo";
import type { Settings } from "../env";
import type { Timeline, TimelineEntry } from "./admin-api.schema";
import { adminInstanceOf, iso, isoOrNull } from "./admin-views";

/** Entries at the same millisecond keep this order: a callback, its audit row, then what followed from it. */
const KIND_ORDER: Record<TimelineEntry["kind"], number> = { inbox: 0, audit: 1, orderFetch: 2, delivery: 3, usageRecord: 4, kitSync: 5, signIn: 6 };

function parsedRequest(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * One instance's history in time order, from each source's newest `limit` rows (each read on its per-instance index).
 * The audit chain is read whole: verifying it needs every row, and it grows by one row per change of the instance.
 */
export async function timelineOf(db: Db, instance: Instance, settings: Pick<Settings, "dataKey" | "provisioning">, limit: number): Promise<Timeline> {
  const id = instance.id;
  const [inboxRows, auditRows, orderRows, eventRows, usageRows, signInRows] = await db.batch([
    db.select().from(inbox).where(eq(inbox.instanceId, id)).orderBy(desc(inbox.receivedAt), desc(inbox.id)).limit(limit + 1),
    db.select().from(auditEvents).where(eq(auditEvents.instanceId, id)).orderBy(asc(auditEvents.seq)),
    db.select().from(orders).where(eq(orders.instanceId, id)).limit(limit + 1),
    db.select().from(events).where(eq(events.instanceId, id)).orderBy(desc(events.seq)).limit(limit + 1),
    db.select().from(usageRecords).where(eq(usageRecords.instanceId, id)).orderBy(desc(usageRecords.periodBegin)).limit(limit + 1),
    signInsOf(db, id, limit + 1),
  ]);
  const truncated = [inboxRows, auditRows, orderRows, eventRows, usageRows, signInRows].some((rows) => rows.length > limit);
  const entries: TimelineEntry[] = [
    ...inboxRows.slice(0, limit).map(
      (row): TimelineEntry => ({
        kind: row.interface.startsWith("kit-") ? "kitSync" : "inbox",
        at: iso(row.receivedAt),
        inboxId: row.id,
        interface: row.interface,
        activity: row.activity,
        test: row.isTest,
        resultCode: row.resultCode,
        request: parsedRequest(row.request),
        answer: row.answer,
      }),
    ),
    ...auditRows.slice(-limit).map(
      (row: AuditEvent): TimelineEntry => ({
        kind: "audit",
        at: iso(row.at),
        seq: row.seq,
        event: row.event,
        fromStatus: row.fromStatus,
        toStatus: row.toStatus,
        detail: row.detail,
      }),
    ),
    ...orderRows.slice(0, limit).map(
      (row): TimelineEntry => ({
        kind: "orderFetch",
        at: iso(row.updatedAt),
        orderId: row.orderId,
        orderLineId: row.orderLineId,
        activity: row.activity,
        fetchState: row.fetchState,
        fetchAttempts: row.fetchAttempts,
        nextFetchAt: isoOrNull(row.nextFetchAt),
        fetchedAt: isoOrNull(row.fetchedAt),
        lastError: row.lastError,
        productId: row.productId,
        skuCode: row.skuCode,
      }),
    ),
    ...eventRows.slice(0, limit).map(
      (row): TimelineEntry => ({
        kind: "delivery",
        at: iso(row.createdAt),
        eventId: row.id,
        type: row.type,
        deliveryState: row.deliveryState,
        attempts: row.attempts,
        nextAttemptAt: isoOrNull(row.nextAttemptAt),
        deliverBy: isoOrNull(row.deliverBy),
        deliveredAt: isoOrNull(row.deliveredAt),
        lastStatus: row.lastStatus,
        lastError: row.lastError,
        // In webhook mode a real purchase's instance.created is the provisioning request (docs/seller-contract.md).
        provisioning: row.type === "instance.created" && !row.isTest && settings.provisioning.mode === "webhook",
      }),
    ),
    ...usageRows.slice(0, limit).map(
      (row): TimelineEntry => ({
        kind: "usageRecord",
        at: iso(row.periodBegin),
        meteringSn: row.meteringSn,
        period: row.period,
        state: row.state,
        usageValue: row.usageValue,
        eventCount: row.eventCount,
        attempts: row.attempts,
        rejectCode: row.rejectCode,
        rejectMessage: row.rejectMessage,
        lastError: row.lastError,
        correctionOf: row.correctionOf,
      }),
    ),
    ...signInRows.slice(0, limit).map(
      (row): TimelineEntry => ({ kind: "signIn", at: iso(row.at), tenantId: row.tenantId, appId: row.appId, userName: row.userName, role: row.role, test: row.isTest }),
    ),
  ];
  entries.sort((a, b) => a.at.localeCompare(b.at) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
  return { instance: adminInstanceOf(instance), audit: verifyAuditChain(auditKeyOf(settings.dataKey), auditRows), entries, truncated };
}
