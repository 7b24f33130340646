import type { BatchItem } from "drizzle-orm/batch";
import type { Instance } from "../db/schema/instances";
import { type EventDraft, eventRow, outboxStatements } from "../events/outbox";
import { auditKeyOf } from "../instances/audit-chain";
import type { CallEnvelope, Outcome } from "../instances/commands";
import type { InstanceChange } from "../instances/instance-change";
import { nextAuditRow, statements } from "../instances/instance.repo";
import type { LicenseChange } from "../license/license-flow";
import { licenseDeliveryFailed, provisioningFailed } from "../operations/instance-problems";
import { clearProblem } from "../operations/problems";
import { isSelfCheckData } from "../operations/self-check/marker";
import { type CachedOutcome, type InstanceScope, KV, auditHead, background, markDeliveryDue, markLicenseDue, problem, storeCallNonce } from "./instance-scope";

/**
 * The one write path of an instance actor: each change is one D1 batch (instance, inbox record, audit row, events,
 * extras), then one storage transaction (instance cache, audit head, answer cache, the running call's nonce).
 */

export type Statement = BatchItem<"sqlite">;

/** What goes into a change's batch beside the instance, its audit row and its events. */
export interface CommitExtras {
  inbox?: InboxRow;
  statements?: Statement[];
  cache?: { key: string; value: CachedOutcome };
  /** The batch writes the accepted call: its record goes in the same storage transaction as the cache. */
  settles?: true;
}

export async function commit(s: InstanceScope, from: Instance | undefined, change: InstanceChange, at: number, extras: CommitExtras = {}): Promise<void> {
  const db = s.db;
  const { next } = change;
  const audit = nextAuditRow(auditKeyOf(s.settings.dataKey), auditHead(s), {
    instanceId: next.id,
    at,
    event: change.auditEvent,
    fromStatus: from?.status ?? null,
    toStatus: next.status,
    detail: change.auditDetail,
  });
  // The self-check's instances tell nobody: no feed entry, no webhook (src/operations/self-check/marker.ts).
  const drafts = isSelfCheckData(next.isTest, next.orderId) ? [] : change.events;
  const eventRows = drafts.map((draft) => eventRow(draft, s.settings.sellerWebhook !== undefined));
  // Due before the batch: if we die right after it, the alarm still delivers what it wrote.
  if (eventRows.some((row) => row.deliveryState === "pending")) markDeliveryDue(s, at);
  await db.batch([
    from ? statements.updateInstance(db, next.id, from.version, changesOf(from, next)) : statements.insertInstance(db, next),
    ...(extras.inbox ? [statements.insertInbox(db, extras.inbox)] : []),
    statements.insertAudit(db, audit),
    ...(isNonEmpty(eventRows) ? [outboxStatements.insertEvents(db, eventRows)] : []),
    ...(extras.statements ?? []),
  ]);
  s.transactionSync(() => {
    s.kv.put(KV.instance, next);
    s.kv.put(KV.auditHead, { seq: audit.seq, hash: audit.hash });
    if (extras.cache) s.kv.put(KV.answer(extras.cache.key), extras.cache.value);
    if (extras.settles) s.kv.delete(KV.accepted);
    storeCallNonce(s);
  });
  if (next.status === "failed" && from?.status !== "failed") {
    problem(s, provisioningFailed(next), at);
    // Its order is no longer fetched: the failure is the problem that stays; a failing fetch has nothing left to say.
    background(s, () => clearProblem(s.env, "query_order.failing", next.id, at));
  }
}

/** One license change and its events in one batch; `uploadDue` when it leaves a license to upload. */
export async function commitLicense(s: InstanceScope, change: LicenseChange, at: number, uploadDue: boolean): Promise<void> {
  const rows = change.events.map((draft: EventDraft) => eventRow(draft, s.settings.sellerWebhook !== undefined));
  if (rows.some((row) => row.deliveryState === "pending")) markDeliveryDue(s, at);
  // Due before the batch: if we die right after it, the alarm still uploads what it wrote.
  if (uploadDue) markLicenseDue(s, at);
  const [first, ...rest] = [...change.statements, ...rows.map((row) => outboxStatements.insertEvent(s.db, row))];
  if (first) await s.db.batch([first, ...rest]);
  for (const draft of change.events) {
    const report = licenseDeliveryFailed(draft);
    if (report) problem(s, report, at);
  }
  if (uploadDue) {
    // Again after the batch: a running upload loop may have read D1 before it and cleared the mark.
    markLicenseDue(s, at);
    s.flights.uploadAgain = true;
  }
}

export type InboxRow = ReturnType<typeof inboxRow>;

export function inboxRow(key: string, envelope: CallEnvelope, instanceId: string, outcome: Outcome) {
  return {
    idempotencyKey: key,
    fingerprint: envelope.fingerprint,
    interface: envelope.dialect,
    activity: envelope.activity,
    instanceId,
    isTest: envelope.isTest,
    request: envelope.requestText,
    resultCode: outcome.resultCode,
    // The outcome, never the buyer's password: the answer bytes are rendered from it by the caller's dialect.
    answer: JSON.stringify(withoutAppInfo(outcome)),
    receivedAt: envelope.receivedAt,
  };
}

export function withoutAppInfo(outcome: Outcome): Outcome {
  const { appInfo: _appInfo, ...rest } = outcome;
  return rest;
}

/** The columns that differ: the UPDATE sets only those. */
function changesOf(before: Instance, after: Instance): Partial<Instance> {
  const changes: Partial<Record<keyof Instance, unknown>> = {};
  for (const name of Object.keys(after) as (keyof Instance)[]) {
    if (before[name] !== after[name]) changes[name] = after[name];
  }
  return changes as Partial<Instance>;
}

function isNonEmpty<T>(list: T[]): list is [T, ...T[]] {
  return list.length > 0;
}
