import { commit, inboxRow, withoutAppInfo, type Statement } from "../actor/commit";
import { closeWindowIfDue } from "../actor/duties/provisioning-window.duty";
import { type CachedOutcome, type InstanceScope, KV, background, note, schedulePending } from "../actor/instance-scope";
import type { Instance } from "../db/schema/instances";
import { createAnswerCarriesAppInfo } from "../dialects/answers";
import { type OrderTruth, queryOrder } from "../marketplace-api/order.api";
import { log } from "../observability/log";
import { clearProblem } from "../operations/problems";
import { ResultCode } from "../protocol/result-codes";
import type { CallEnvelope, CreateCommand, Outcome } from "./commands";
import type { InstanceChange } from "./instance-change";
import { findInboxEntry, statements } from "./instance.repo";
import { type PendingOrderFetch, emptyOrderRow, orderFetchDelay, orderRowOf } from "./order-fetch";
import { windowClosed } from "./provisioning-window";
import { newPurchase, provision, purchaseOutcome, retriedPurchase, withOrderTruth } from "./purchase";

/**
 * A real newInstance asks query order before it provisions (order first), inside the 2.5 s the whole answer gets:
 * this leaves about a second for the D1 batch and the answer. Slower means 000004 and a background retry.
 */
export const ORDER_FIRST_TIMEOUT_MS = 1_500;

/** newInstance inside the actor's queue: a repeat answered from what was recorded, a purchase started or retried. */
export async function createCall(s: InstanceScope, instanceId: string, envelope: CallEnvelope, command: CreateCommand): Promise<Outcome> {
  // The cache only, no D1 read: an instance this actor has not cached but D1 has (a crash after its batch) makes the
  // insert below fail on its unique keys, and the caller then reloads and answers from it.
  const cached = s.kv.get<Instance>(KV.instance);
  const key = envelope.idempotencyKey ?? command.createKey;
  if (!cached) return purchase(s, instanceId, undefined, envelope, command, key, true);
  const seen = s.kv.get<CachedOutcome>(KV.answer(key)) ?? (await recorded(s, key));
  if (seen && seen.fingerprint !== envelope.fingerprint) return conflict(envelope);
  const existing = await closeWindowIfDue(s, cached, envelope.receivedAt);
  // A new newInstance for a failed purchase is the Marketplace retrying it: provision again, inside its window
  // only (after it the Marketplace has refunded the purchase: the call is answered with the failure).
  if (existing.status === "failed" && !existing.isTest && !windowClosed(existing, envelope.receivedAt)) {
    return purchase(s, instanceId, existing, envelope, command, key, seen === undefined);
  }
  const outcome = await purchaseOutcome(existing, s.settings.dataKey, createAnswerCarriesAppInfo(envelope.dialect));
  if (!seen) {
    // The same purchase through the other dialect (V1 and V2 share the create key, not the inbox key).
    await s.db.batch([statements.insertInbox(s.db, inboxRow(key, envelope, instanceId, outcome))]);
    s.kv.put(KV.answer(key), { outcome: withoutAppInfo(outcome), fingerprint: envelope.fingerprint });
  }
  return outcome;
}

/**
 * A purchase, first or retried: order first (query order inside the answer's budget; debug purchases never ask),
 * then provisioning, in one batch with its inbox record. Without its order it waits, answered 000004.
 */
export async function purchase(
  s: InstanceScope,
  instanceId: string,
  failed: Instance | undefined,
  envelope: CallEnvelope,
  command: CreateCommand,
  key: string,
  firstOfKey: boolean,
): Promise<Outcome> {
  const now = envelope.receivedAt;
  let next = failed ? retriedPurchase(failed, now) : newPurchase(instanceId, command, envelope);
  const extra: Statement[] = [];
  if (!envelope.isTest && next.orderKnownAt === null) {
    // The purchase's own line, whichever dialect retries it (V1 carries none).
    const item: PendingOrderFetch = {
      orderId: command.orderId,
      orderLineId: failed?.orderLineId ?? command.orderLineId,
      productId: command.productId,
      purpose: "create",
      activity: envelope.activity,
      attempts: 0,
      nextAt: now,
    };
    const truth = await fetchOrderFirst(s, instanceId, item, now);
    if (truth) {
      extra.push(statements.upsertOrder(s.db, await orderRowOf(s.settings, instanceId, item, truth, now)));
      next = withOrderTruth(next, truth, now);
      // A retried purchase whose order failed before: its query_order.failing clears (no query for a first try).
      if (failed) background(s, () => clearProblem(s.env, "query_order.failing", instanceId, now));
    } else {
      // Pending again even after an earlier failure: roll-up and reconciliation read `failed` as never fetched.
      extra.push(statements.upsertOrder(s.db, { ...emptyOrderRow(instanceId, item, now), fetchAttempts: 1, nextFetchAt: now + orderFetchDelay(1), lastError: "no answer in time for the first reply" }));
      // Scheduled before the batch: if we die after it, the alarm still fetches the order.
      schedulePending(s, { ...item, attempts: 1, nextAt: now + orderFetchDelay(1) });
    }
  }
  const provisioned = envelope.isTest || next.orderKnownAt !== null ? await provision(next, s.settings, now) : { next, events: [] };
  const outcome = await purchaseOutcome(provisioned.next, s.settings.dataKey, createAnswerCarriesAppInfo(envelope.dialect));
  const change: InstanceChange = failed
    ? {
        ...provisioned,
        auditEvent: "provisioningRetried",
        auditDetail: { activity: envelope.activity, previousFailure: failed.failureReason, ...(envelope.by ? { by: envelope.by } : {}) },
      }
    : {
        ...provisioned,
        auditEvent: envelope.activity,
        auditDetail: { orderId: command.orderId, orderLineId: command.orderLineId, isTest: envelope.isTest, orderKnown: provisioned.next.orderKnownAt !== null },
      };
  await commit(s, failed, change, now, {
    statements: extra,
    ...(firstOfKey
      ? { inbox: inboxRow(key, envelope, instanceId, outcome), cache: { key, value: { outcome: withoutAppInfo(outcome), fingerprint: envelope.fingerprint } } }
      : {}),
  });
  await s.armAlarm();
  note(s, failed ? "instance.retried" : "instance.created", { instanceId, instanceStatus: provisioned.next.status, isTest: provisioned.next.isTest, orderKnown: provisioned.next.orderKnownAt !== null });
  return outcome;
}

/** The outcome recorded under an idempotency key, from D1 (after a crash, or the first time this actor sees it). */
export async function recorded(s: InstanceScope, key: string): Promise<CachedOutcome | undefined> {
  const entry = await findInboxEntry(s.db, key);
  if (!entry) return undefined;
  const cached: CachedOutcome = { outcome: JSON.parse(entry.answer) as Outcome, fingerprint: entry.fingerprint };
  s.kv.put(KV.answer(key), cached);
  return cached;
}

export function conflict(envelope: CallEnvelope): Outcome {
  return { resultCode: ResultCode.InvalidParameter, resultMsg: `${envelope.activity}: this idempotency key was already used with different parameters` };
}

export function repeatOutcome(cached: CachedOutcome, envelope: CallEnvelope): Outcome {
  return cached.fingerprint === envelope.fingerprint ? cached.outcome : conflict(envelope);
}

/** Query order inside the create's budget; undefined when it failed or was slow (the alarm retries). */
async function fetchOrderFirst(s: InstanceScope, instanceId: string, item: PendingOrderFetch, now: number): Promise<OrderTruth | undefined> {
  try {
    return await queryOrder(s.settings.marketplace, item.orderId, item.orderLineId, new Date(now), ORDER_FIRST_TIMEOUT_MS, item.productId);
  } catch (error) {
    log("warn", "order.first_fetch_failed", { instanceId, orderId: item.orderId, error: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
}
