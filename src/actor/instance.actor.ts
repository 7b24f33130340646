import type { BatchItem } from "drizzle-orm/batch";
import { createAnswerCarriesAppInfo } from "../dialects/answers";
import type { EventRow } from "../db/schema/events";
import type { Instance } from "../db/schema/instances";
import { problems } from "../db/schema/problems";
import { type DeliveryAttempt, describeAttempt, sendEvent } from "../events/delivery";
import { eventRow, outboxStatements, pendingEventsOf } from "../events/outbox";
import { openAdminPassword } from "../instances/admin-password";
import { auditKeyOf } from "../instances/audit-chain";
import { type CallEnvelope, type CreateCommand, type InstanceCommand, type LifecycleCommand, type Outcome, createCommandOf } from "../instances/commands";
import { entitlementOf } from "../instances/entitlement";
import type { InstanceChange } from "../instances/instance-change";
import { type AuditHead, findAuditHead, findInboxEntry, findInstance, nextAuditRow, statements } from "../instances/instance.repo";
import { planChange } from "../instances/lifecycle";
import { type PendingOrderFetch, emptyOrderRow, orderFetchDelay, orderRowOf, shouldGiveUp } from "../instances/order-fetch";
import { newPurchase, orderArrived, provision, purchaseOutcome, retriedPurchase, withOrderTruth } from "../instances/purchase";
import { awaitsProvisioning, provisioningDeadline, windowClosed, windowExpiry } from "../instances/provisioning-window";
import type { AdminRetryResult, CredentialsResult, ProvisionedBody, ProvisioningFailedBody, SellerWriteResult } from "../instances/seller-commands";
import {
  ORDER_NEVER_FETCHED,
  SELLER_WINDOW_MISSED,
  awaitsSeller,
  judgeDelivery,
  notAwaitingSeller,
  provisionedBySeller,
  purchaseFailed,
  sameProvisioning,
} from "../instances/seller-provisioning";
import { type KitAnswer, type KitSyncCall, applyKitSync } from "../kit/kit-sync";
import type { License } from "../db/schema/licenses";
import type { EventDraft } from "../events/outbox";
import { type LicenseChange, type LicensePlan, type LicenseWriteResult, licenseFromSeller, licenseRequestDelivered, planLicenseRequest, uploadChange } from "../license/license-flow";
import type { IssuedLicense } from "../license/license-content";
import { dueUploads, findLicenseById, nextUploadAt } from "../license/license.repo";
import { uploadLicense } from "../license/license-upload";
import { type LicenseCommand, outcomeOf } from "../license/online-license";
import { MarketplaceApiError } from "../marketplace-api/errors";
import { type OrderTruth, queryOrder } from "../marketplace-api/order.api";
import { log } from "../observability/log";
import { ResultCode } from "../protocol/result-codes";
import type { SignedNonce } from "../protocol/v2-signature";
import { type Acceptance, type Decision, decideBy } from "./acceptance";
import { alertConfigOf } from "../operations/alert-settings";
import {
  DELIVERY_FAILING_AFTER,
  QUERY_ORDER_FAILING_AFTER,
  deliveryFailed,
  deliveryFailing,
  deliveryFailingClear,
  licenseDeliveryFailed,
  provisioningFailed,
  queryOrderFailing,
} from "../operations/instance-problems";
import { type ProblemReport, afterClear, clearProblem, inBackground, reportProblem } from "../operations/problems";
import { ReplayGuard } from "./replay-guard";
import { SerialActor } from "./serial-actor";
import { isSelfCheckData } from "../operations/self-check/marker";

export { PROVISIONING_WINDOW_MS } from "../instances/provisioning-window";

type Statement = BatchItem<"sqlite">;

interface CachedOutcome {
  outcome: Outcome;
  fingerprint: string;
}

/**
 * A real newInstance asks query order before it provisions (order first), inside the 2.5 s the whole answer gets:
 * this leaves about a second for the D1 batch and the answer. Slower means 000004 and a background retry.
 */
export const ORDER_FIRST_TIMEOUT_MS = 1_500;
/** After an alarm that threw, the next one waits this long, whatever is overdue. */
export const ALARM_FAILURE_RETRY_MS = 30_000;

const KV = {
  instance: "instance",
  auditHead: "auditHead",
  orderFetches: "orderFetches",
  deliveryDueAt: "deliveryDueAt",
  /** The earliest license upload due (the licenses table has the rows). */
  licenseDueAt: "licenseDueAt",
  /** The event stream this actor delivers: its instance, or the tenant a kit actor is named after. */
  stream: "stream",
  /** A call accepted and not yet written to D1 (AcceptedWork): written before anything else this actor does. */
  accepted: "accepted",
  answer: (key: string) => `answer:${key}`,
} as const;

/** Ids, states and codes only, as in every log line: never a body, key, password or personal field. */
export type LogFacts = Record<string, string | number | boolean | null | undefined>;

/** A Marketplace call's result, and what the actor did for the caller's request log line. */
export interface ActorReply {
  outcome: Outcome;
  facts: LogFacts;
}

/** The Marketplace call being applied (one at a time, inside `serialize`). */
interface CallInProgress {
  /** Its nonce, admitted and not stored yet: stored with the call's first commit, or when the call ends. */
  nonceKey: string | undefined;
  facts: LogFacts;
}

/** What goes into a change's batch beside the instance, its audit row and its events. */
interface CommitExtras {
  inbox?: ReturnType<typeof inboxRow>;
  statements?: Statement[];
  cache?: { key: string; value: CachedOutcome };
  /** The batch writes the accepted call: its record goes in the same storage transaction as the cache. */
  settles?: true;
}

/**
 * A call answered as accepted before its D1 batch was written (src/dialects/answer-budget.ts): kept in the actor's
 * own storage until that batch is, and written again from here after a failed batch or a restart.
 */
type AcceptedWork =
  | { kind: "change"; from: Instance; change: InstanceChange; at: number; inbox: ReturnType<typeof inboxRow>; cache?: { key: string; value: CachedOutcome } }
  | { kind: "kit"; call: KitSyncCall };

const NOT_ACCEPTED: Outcome = { resultCode: ResultCode.InternalError, resultMsg: "the gateway could not take this call on in time; nothing changed: send it again" };
const NOT_ACCEPTED_KIT: KitAnswer = { text: JSON.stringify(NOT_ACCEPTED), resultCode: NOT_ACCEPTED.resultCode };
const KIT_ACCEPTED: KitAnswer = { text: JSON.stringify({ resultCode: ResultCode.Success, resultMsg: "accepted; being applied" }), resultCode: ResultCode.Success };

/**
 * One actor per instance id: the serialising shell around the lifecycle domain (src/instances), which decides; the
 * actor runs one call at a time, commits each decision as one D1 batch (instance, inbox record, audit row, the
 * seller's events) and caches what it wrote, so repeats and the next change need no D1 read. Whenever that cache
 * could be stale (a crash between the D1 batch and the cache write), the batch fails on a unique key and the actor
 * reloads from D1. Its alarm runs the background work (query order retries, webhook deliveries) and always re-arms
 * for whatever is still pending.
 */
export class InstanceActor extends SerialActor {
  private delivering: Promise<void> | null = null;
  private uploading: Promise<void> | null = null;
  /** Set when a license became due while an upload loop may have looked already: that loop looks once more. */
  private uploadAgain = false;
  private readonly replayGuard = new ReplayGuard(this.ctx.storage.kv);
  /** Set only while a Marketplace call runs; the alarm's and the seller API's work runs without one. */
  private call: CallInProgress | null = null;


  // ---- Marketplace callbacks ---------------------------------------------------------------------------------------

  async apply(instanceId: string, envelope: CallEnvelope, command: InstanceCommand): Promise<ActorReply> {
    // Before the queue: a replay is refused at once, even while the original call is still running.
    const call = this.admit(envelope.nonce, { instanceId });
    if (!call) return { outcome: REPLAYED, facts: { instanceId } };
    const { decideBy: deadline } = envelope;
    if (command.kind === "lifecycle" && deadline !== undefined) {
      const decision = await this.decide<Outcome>(deadline, (acceptance) =>
        this.serialize(() => this.during(call, () => (acceptance.dropped ? Promise.resolve(NOT_ACCEPTED) : this.applyOnce(instanceId, envelope, command, acceptance)))),
      );
      return { outcome: decision.kind === "dropped" ? NOT_ACCEPTED : decision.answer, facts: { ...call.facts, ...(decision.kind === "done" ? {} : { decided: decision.kind }) } };
    }
    const outcome = await this.serialize(() => this.during(call, () => this.applyOnce(instanceId, envelope, command)));
    if (command.kind !== "create" || outcome.resultCode !== ResultCode.Processing || this.settings.provisioning.mode !== "webhook") return { outcome, facts: call.facts };
    // Webhook provisioning: the seller's backend gets instance.created now, and its answer may finish the purchase
    // within this very call; the caller's budget answers 000004 if it takes longer.
    await this.deliverDue(instanceId);
    await this.armAlarm();
    // Answered from where the purchase is now, not by applying the create again: a refusal the backend just gave is
    // this call's answer, not a failed purchase for a new newInstance to retry.
    const current = await this.serialize(async () => {
      const instance = await this.load(instanceId);
      return instance ? purchaseOutcome(instance, this.settings.dataKey, createAnswerCarriesAppInfo(envelope.dialect)) : outcome;
    });
    return { outcome: current, facts: call.facts };
  }

  /**
   * A call that must be accepted or dropped by `deadline`. When its work fails after it was accepted, the accepted
   * record is still there: the alarm writes it.
   */
  private async decide<T>(deadline: number, work: (acceptance: Acceptance<T>) => Promise<T>): Promise<Decision<T>> {
    return decideBy(deadline, (acceptance) =>
      work(acceptance).catch(async (error: unknown) => {
        if (acceptance.accepted) {
          log("error", "actor.accepted_write_failed", { error: error instanceof Error ? error.message : String(error) });
          await this.armAlarm(Date.now() + ALARM_FAILURE_RETRY_MS);
        }
        throw error;
      }),
    );
  }

  /** The replay check of a queryInstance of several ids (answered from D1): its nonce is kept here. */
  async checkNonce(nonce: SignedNonce): Promise<boolean> {
    return this.replayGuard.remember(nonce, Date.now());
  }

  /**
   * queryInstance of one id: its nonce kept here, and the instance as this actor last wrote it (the only writer of
   * its row, so never behind D1), without a D1 read when the actor has it.
   */
  async read(instanceId: string, nonce: SignedNonce): Promise<{ replay: boolean; instance: Instance | undefined }> {
    if (!this.replayGuard.remember(nonce, Date.now())) return { replay: true, instance: undefined };
    // Not `existing`: this read runs outside the queue, so it must never write the cache a running change is writing.
    return { replay: false, instance: this.kv.get<Instance>(KV.instance) ?? (await findInstance(this.db, instanceId)) };
  }

  /** A Marketplace call past the replay guard (its nonce admitted, stored later), or null for a replay. */
  private admit(nonce: SignedNonce | undefined, facts: LogFacts): CallInProgress | null {
    if (!nonce) return { nonceKey: undefined, facts };
    const nonceKey = this.replayGuard.admit(nonce);
    return nonceKey === undefined ? null : { nonceKey, facts };
  }

  /** Runs one Marketplace call inside the queue; its nonce is stored by its first commit, or here at its end. */
  private async during<T>(call: CallInProgress, work: () => Promise<T>): Promise<T> {
    this.call = call;
    try {
      return await work();
    } finally {
      this.storeCallNonce();
      this.call = null;
    }
  }

  private storeCallNonce(): void {
    if (this.call?.nonceKey === undefined) return;
    this.replayGuard.store(this.call.nonceKey, Date.now());
    this.call.nonceKey = undefined;
  }

  /** Into the call's request log line when a Marketplace call did it (one line per request); a line of its own otherwise. */
  private note(event: string, fields: LogFacts): void {
    if (this.call) Object.assign(this.call.facts, { actor: event, ...fields });
    else log("info", event, fields);
  }

  /** Problems are bookkeeping beside the work: written in the background, never in a call's answer time. */
  private problem(report: ProblemReport, at: number): void {
    inBackground((promise) => this.ctx.waitUntil(promise), () => reportProblem(this.env, report, at));
  }

  private async applyOnce(instanceId: string, envelope: CallEnvelope, command: InstanceCommand, acceptance?: Acceptance<Outcome>): Promise<Outcome> {
    const key = envelope.idempotencyKey;
    if (key && command.kind === "lifecycle") {
      const cached = this.kv.get<CachedOutcome>(KV.answer(key));
      if (cached) return repeatOutcome(cached, envelope);
    }
    try {
      return await this.execute(instanceId, envelope, command, acceptance);
    } catch (error) {
      if (!isD1Error(error)) throw error;
      // The batch hit a unique key: an earlier life of this actor wrote to D1 and died before caching it.
      log("warn", "actor.reload", { instanceId, activity: envelope.activity, reason: String(error) });
      await this.reload(instanceId);
      if (key && command.kind === "lifecycle") {
        const recorded = await this.recorded(key);
        if (recorded) return repeatOutcome(recorded, envelope);
      }
      return this.execute(instanceId, envelope, command, acceptance);
    }
  }

  private execute(instanceId: string, envelope: CallEnvelope, command: InstanceCommand, acceptance?: Acceptance<Outcome>): Promise<Outcome> {
    switch (command.kind) {
      case "create":
        return this.create(instanceId, envelope, command);
      case "lifecycle":
        return this.change(instanceId, envelope, command, acceptance);
      default: {
        const unhandled: never = command;
        throw new Error(`unknown command ${JSON.stringify(unhandled)}`);
      }
    }
  }

  private async create(instanceId: string, envelope: CallEnvelope, command: CreateCommand): Promise<Outcome> {
    // The cache only, no D1 read: an instance this actor has not cached but D1 has (a crash after its batch) makes the
    // insert below fail on its unique keys, and applyOnce then reloads and answers from it.
    const cached = this.kv.get<Instance>(KV.instance);
    const key = envelope.idempotencyKey ?? command.createKey;
    if (cached) {
      const seen = this.kv.get<CachedOutcome>(KV.answer(key)) ?? (await this.recorded(key));
      if (seen && seen.fingerprint !== envelope.fingerprint) return conflict(envelope);
      const existing = await this.closeWindowIfDue(cached, envelope.receivedAt);
      // A new newInstance for a failed purchase is the Marketplace retrying it: provision again, inside its window
      // only (after it the Marketplace has refunded the purchase: the call is answered with the failure).
      if (existing.status === "failed" && !existing.isTest && !windowClosed(existing, envelope.receivedAt)) {
        return this.purchase(instanceId, existing, envelope, command, key, seen === undefined);
      }
      const outcome = await purchaseOutcome(existing, this.settings.dataKey, createAnswerCarriesAppInfo(envelope.dialect));
      if (!seen) {
        // The same purchase through the other dialect (V1 and V2 share the create key, not the inbox key).
        await this.db.batch([statements.insertInbox(this.db, inboxRow(key, envelope, instanceId, outcome))]);
        this.kv.put(KV.answer(key), { outcome: withoutAppInfo(outcome), fingerprint: envelope.fingerprint });
      }
      return outcome;
    }
    return this.purchase(instanceId, undefined, envelope, command, key, true);
  }

  /**
   * A purchase, first or retried: order first (query order inside the answer's budget; debug purchases never ask),
   * then provisioning, in one batch with its inbox record. Without its order it waits, answered 000004.
   */
  private async purchase(
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
      const truth = await this.fetchOrderFirst(instanceId, item, now);
      if (truth) {
        extra.push(statements.upsertOrder(this.db, await orderRowOf(this.settings, instanceId, item, truth, now)));
        next = withOrderTruth(next, truth, now);
        // A retried purchase whose order failed before: its query_order.failing clears (no query for a first try).
        if (failed) inBackground((promise) => this.ctx.waitUntil(promise), () => clearProblem(this.env, "query_order.failing", instanceId, now));
      } else {
        // Pending again even after an earlier failure: roll-up and reconciliation read `failed` as never fetched.
        extra.push(statements.upsertOrder(this.db, { ...emptyOrderRow(instanceId, item, now), fetchAttempts: 1, nextFetchAt: now + orderFetchDelay(1), lastError: "no answer in time for the first reply" }));
        // Scheduled before the batch: if we die after it, the alarm still fetches the order.
        this.schedulePending({ ...item, attempts: 1, nextAt: now + orderFetchDelay(1) });
      }
    }
    const provisioned = envelope.isTest || next.orderKnownAt !== null ? await provision(next, this.settings, now) : { next, events: [] };
    const outcome = await purchaseOutcome(provisioned.next, this.settings.dataKey, createAnswerCarriesAppInfo(envelope.dialect));
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
    await this.commit(failed, change, now, {
      statements: extra,
      ...(firstOfKey
        ? { inbox: inboxRow(key, envelope, instanceId, outcome), cache: { key, value: { outcome: withoutAppInfo(outcome), fingerprint: envelope.fingerprint } } }
        : {}),
    });
    await this.armAlarm();
    this.note(failed ? "instance.retried" : "instance.created", { instanceId, instanceStatus: provisioned.next.status, isTest: provisioned.next.isTest, orderKnown: provisioned.next.orderKnownAt !== null });
    return outcome;
  }

  /** The outcome recorded under an idempotency key, from D1 (after a crash, or the first time this actor sees it). */
  private async recorded(key: string): Promise<CachedOutcome | undefined> {
    const entry = await findInboxEntry(this.db, key);
    if (!entry) return undefined;
    const cached: CachedOutcome = { outcome: JSON.parse(entry.answer) as Outcome, fingerprint: entry.fingerprint };
    this.kv.put(KV.answer(key), cached);
    return cached;
  }

  /** Query order inside the create's budget; undefined when it failed or was slow (the alarm retries). */
  private async fetchOrderFirst(instanceId: string, item: PendingOrderFetch, now: number): Promise<OrderTruth | undefined> {
    try {
      return await queryOrder(this.settings.marketplace, item.orderId, item.orderLineId, new Date(now), ORDER_FIRST_TIMEOUT_MS, item.productId);
    } catch (error) {
      log("warn", "order.first_fetch_failed", { instanceId, orderId: item.orderId, error: error instanceof Error ? error.message : String(error) });
      return undefined;
    }
  }

  private async change(instanceId: string, envelope: CallEnvelope, command: LifecycleCommand, acceptance?: Acceptance<Outcome>): Promise<Outcome> {
    const loaded = await this.load(instanceId);
    // A call after the window finds the purchase failed, as the Marketplace has judged it.
    const instance = loaded ? await this.closeWindowIfDue(loaded, envelope.receivedAt) : undefined;
    const plan = planChange(instance, instanceId, envelope, command);
    if (plan.kind === "answer") {
      if (plan.unchanged) this.note("instance.unchanged", { instanceId, activity: envelope.activity, reason: plan.unchanged });
      return plan.outcome;
    }
    // planChange applies changes to existing instances only; a create never comes this way.
    if (!instance) throw new Error(`planChange applied ${envelope.activity} to no instance`);
    if (acceptance && !acceptance.accept(plan.outcome)) return NOT_ACCEPTED;
    const { next } = plan.change;
    const key = envelope.idempotencyKey ?? `${envelope.activity}:${instanceId}:v${next.version}`;
    const accepted: Extract<AcceptedWork, { kind: "change" }> = {
      kind: "change",
      from: instance,
      change: plan.change,
      at: envelope.receivedAt,
      inbox: inboxRow(key, envelope, instanceId, plan.outcome),
      ...(envelope.idempotencyKey ? { cache: { key: envelope.idempotencyKey, value: { outcome: plan.outcome, fingerprint: envelope.fingerprint } } } : {}),
    };
    // Accepted: from here on the change is applied whatever D1 does (an upgrade's order fetch is scheduled with it).
    this.kv.put(KV.accepted, accepted);
    if (plan.orderFetch) this.schedulePending(plan.orderFetch);
    await this.commitAccepted(accepted);
    await this.armAlarm();
    this.note("instance.changed", { instanceId, activity: envelope.activity, from: instance?.status, to: next.status, frozenReason: next.frozenReason });
    return plan.outcome;
  }

  // ---- the seller's backend (seller API) ---------------------------------------------------------------------------

  /** POST /api/v1/instances/{id}/provisioned: finishes a webhook provisioning answered 202. */
  async provisioned(instanceId: string, body: ProvisionedBody, now: number): Promise<SellerWriteResult> {
    return this.serialize(async () => {
      const loaded = await this.load(instanceId);
      if (!loaded) return { status: 404, error: `instance ${instanceId} does not exist` };
      const instance = await this.closeWindowIfDue(loaded, now);
      if (instance.provisionedAt !== null) {
        return (await sameProvisioning(instance, body, this.settings.dataKey))
          ? { status: 200, entitlement: entitlementOf(instance) }
          : { status: 409, error: "instance is already provisioned with other details" };
      }
      const refusal = notAwaitingSeller(instance, this.settings);
      if (refusal) return { status: 409, error: refusal };
      const change = await provisionedBySeller(instance, body, this.settings.dataKey, now, "provisionedBySellerApi");
      await this.commit(instance, change, now);
      await this.armAlarm();
      return { status: 200, entitlement: entitlementOf(change.next) };
    });
  }

  /** POST /api/v1/instances/{id}/provisioning-failed: the Marketplace gets the seller's code. */
  async provisioningFailed(instanceId: string, body: ProvisioningFailedBody, now: number): Promise<SellerWriteResult> {
    return this.serialize(async () => {
      const loaded = await this.load(instanceId);
      if (!loaded) return { status: 404, error: `instance ${instanceId} does not exist` };
      const instance = await this.closeWindowIfDue(loaded, now);
      if (instance.status === "failed") {
        return instance.failureCode === body.resultCode
          ? { status: 200, entitlement: entitlementOf(instance) }
          : { status: 409, error: `instance already failed with ${instance.failureCode ?? ResultCode.InternalError}` };
      }
      if (instance.provisionedAt !== null) return { status: 409, error: "instance is already provisioned" };
      const refusal = notAwaitingSeller(instance, this.settings);
      if (refusal) return { status: 409, error: refusal };
      const change = purchaseFailed(instance, body.resultCode, body.message, now);
      await this.commit(instance, change, now);
      await this.armAlarm();
      return { status: 200, entitlement: entitlementOf(change.next) };
    });
  }

  /** GET /api/v1/instances/{id}/credentials: the builtin login; each read leaves an audit row. */
  async credentials(instanceId: string, now: number): Promise<CredentialsResult> {
    return this.serialize(async () => {
      const instance = await this.load(instanceId);
      if (!instance) return { status: 404, error: `instance ${instanceId} does not exist` };
      if (!instance.adminPasswordSealed || !instance.adminUserName) {
        return { status: 409, error: instance.provisionedAt === null ? "instance is not provisioned yet" : "the login was not issued by the gateway" };
      }
      if (instance.status === "released") return { status: 409, error: "instance has been released" };
      const password = await openAdminPassword(this.settings.dataKey, instance, instance.adminPasswordSealed);
      const audit = nextAuditRow(this.auditKey, this.auditHead(), {
        instanceId,
        at: now,
        event: "credentialsRead",
        fromStatus: instance.status,
        toStatus: instance.status,
        detail: { by: "seller-api" },
      });
      await this.db.batch([statements.insertAudit(this.db, audit)]);
      this.kv.put(KV.auditHead, { seq: audit.seq, hash: audit.hash });
      return { status: 200, userName: instance.adminUserName, password };
    });
  }

  // ---- the operator (admin API) -------------------------------------------------------------------------------------

  /**
   * POST /admin/api/instances/{id}/retry-provisioning: a failed purchase starts over exactly as a Marketplace retry of
   * its newInstance would (order first, then provisioning, the same events), audited as the operator's. In webhook
   * mode the seller's backend gets instance.created at once; its retries end where the purchase's own window ends.
   */
  async retryProvisioning(instanceId: string, now: number): Promise<AdminRetryResult> {
    const result = await this.serialize(async (): Promise<AdminRetryResult> => {
      const instance = await this.load(instanceId);
      if (!instance) return { status: 404, error: `instance ${instanceId} does not exist` };
      if (instance.status !== "failed") return { status: 409, error: `instance is ${instance.status}, not failed` };
      if (!instance.isTest && windowClosed(instance, now)) {
        return { status: 409, error: "the Marketplace's 3-hour window for this purchase has closed: it failed the purchase and refunded it" };
      }
      const envelope: CallEnvelope = {
        dialect: "v2",
        activity: "retryProvisioning",
        idempotencyKey: null,
        fingerprint: "",
        requestText: "",
        isTest: instance.isTest,
        receivedAt: now,
        by: "admin",
      };
      const command = createCommandOf(instance);
      // No inbox row: the Marketplace did not call; the audit row and the events record the retry.
      await this.purchase(instanceId, instance, envelope, command, instance.createKey, false);
      const next = await this.load(instanceId);
      return next ? { status: 200, instance: next } : { status: 404, error: `instance ${instanceId} does not exist` };
    });
    if (result.status !== 200 || this.settings.provisioning.mode !== "webhook" || result.instance.isTest) return result;
    await this.deliverDue(instanceId);
    await this.armAlarm();
    return this.serialize(async () => {
      const instance = await this.load(instanceId);
      return instance ? { status: 200, instance } : result;
    });
  }

  // ---- joint-operation kit -----------------------------------------------------------------------------------------

  /**
   * Kit syncs for this instance (or, for the seller's own calls without one, for the tenant this actor is named
   * after: kitActorName) queue behind every other change here, so two syncs of one tenant never interleave.
   */
  async kitSync(call: KitSyncCall, deadline?: number): Promise<KitAnswer> {
    if (deadline === undefined) return this.serialize(() => this.applyKit(call));
    const decision = await this.decide<KitAnswer>(deadline, (acceptance) =>
      this.serialize(async () => {
        // No check can refuse a sync that reached its actor (it is idempotent, and parsing is done): accepted first.
        if (!acceptance.accept(KIT_ACCEPTED)) return NOT_ACCEPTED_KIT;
        this.kv.put(KV.accepted, { kind: "kit", call } satisfies AcceptedWork);
        return this.applyKit(call);
      }),
    );
    return decision.kind === "dropped" ? NOT_ACCEPTED_KIT : decision.answer;
  }

  /** One kit sync's batch; its accepted record, if any, is cleared once the batch is written. */
  private async applyKit(call: KitSyncCall): Promise<KitAnswer> {
    const answer = await applyKitSync(this.env, call);
    this.kv.delete(KV.accepted);
    if (answer.eventStream) {
      this.kv.put(KV.stream, answer.eventStream);
      this.markDeliveryDue(call.receivedAt);
      await this.armAlarm();
    }
    return answer;
  }

  /**
   * Events written outside the actor (a usage record the push job rejected) or a delivery whose alarm was lost: the
   * alarm delivers this stream's due events now. Returns at once; the delivery runs in the alarm.
   */
  async kick(stream: string): Promise<void> {
    this.kv.put(KV.stream, stream);
    this.markDeliveryDue(Date.now());
    await this.armAlarm();
  }

  // ---- online licenses (src/license) ------------------------------------------------------------------------------

  /**
   * getLicenseAsync: the stored license of this eventId + fingerprint, or a new one (builtin: signed now; webhook:
   * license.requested to the seller's backend, whose answer may issue it within this call), then its upload. The
   * caller answers 000004 when this takes longer than its budget; the alarm finishes the work.
   */
  async getLicense(command: LicenseCommand, nonce?: SignedNonce): Promise<Outcome> {
    const call = this.admit(nonce, {});
    if (!call) return REPLAYED;
    const plan = await this.serialize(() =>
      this.during(call, async (): Promise<LicensePlan> => {
        const instance = await this.existing(command.instanceId);
        // An id no purchase ever had, or one of the other world (debug / real), is answered by planLicenseRequest
        // before it reads a license, writing nothing but the nonce.
        const found = await planLicenseRequest(this.db, this.settings, instance, command);
        if (found.kind === "new") await this.commitLicense(found, command.receivedAt, found.row.state === "issued");
        return found;
      }),
    );
    if (plan.kind === "answer") return plan.outcome;
    if (plan.row.state === "requested") await this.deliverDue(command.instanceId);
    await this.uploadDue(command.instanceId);
    const row = await findLicenseById(this.db, command.licenseId);
    return row ? outcomeOf(row) : { resultCode: ResultCode.Processing, resultMsg: "processing; retry for the result" };
  }

  /** POST /api/v1/licenses/{eventId}: the seller's backend issues the license it answered 202 for. */
  async licenseSubmitted(licenseId: string, license: IssuedLicense, now: number): Promise<LicenseWriteResult> {
    return this.serialize(async () => {
      const { result, change } = await licenseFromSeller(this.db, licenseId, license, now);
      if (change) {
        await this.commitLicense(change, now, true);
        await this.armAlarm();
      }
      return result;
    });
  }

  /** The sweep found an upload overdue (a lost alarm): the alarm uploads what is due now. */
  async kickLicenses(): Promise<void> {
    this.markLicenseDue(Date.now());
    await this.armAlarm();
  }

  /** One license change and its events in one batch; `uploadDue` when it leaves a license to upload. */
  private async commitLicense(change: LicenseChange, at: number, uploadDue: boolean): Promise<void> {
    const rows = change.events.map((draft: EventDraft) => eventRow(draft, this.settings.sellerWebhook !== undefined));
    if (rows.some((row) => row.deliveryState === "pending")) this.markDeliveryDue(at);
    // Due before the batch: if we die right after it, the alarm still uploads what it wrote.
    if (uploadDue) this.markLicenseDue(at);
    const [first, ...rest] = [...change.statements, ...rows.map((row) => outboxStatements.insertEvent(this.db, row))];
    if (first) await this.db.batch([first, ...rest]);
    for (const draft of change.events) {
      const report = licenseDeliveryFailed(draft);
      if (report) this.problem(report, at);
    }
    if (uploadDue) {
      // Again after the batch: a running upload loop may have read D1 before it and cleared the mark.
      this.markLicenseDue(at);
      this.uploadAgain = true;
    }
  }

  private markLicenseDue(at: number): void {
    const current = this.kv.get<number>(KV.licenseDueAt);
    if (current === undefined || current > at) this.kv.put(KV.licenseDueAt, at);
  }

  /** Single flight, like deliveries: a getLicense and the alarm share one upload loop per actor. */
  private uploadDue(instanceId: string): Promise<void> {
    if (!this.uploading) {
      this.uploading = this.uploadLoop(instanceId).finally(() => {
        this.uploading = null;
      });
    }
    return this.uploading;
  }

  private async uploadLoop(instanceId: string): Promise<void> {
    for (;;) {
      const [row] = await dueUploads(this.db, instanceId, Date.now(), 1);
      if (!row) {
        const next = await nextUploadAt(this.db, instanceId);
        if (next === undefined) this.kv.delete(KV.licenseDueAt);
        else this.kv.put(KV.licenseDueAt, next);
        await this.armAlarm();
        // No await between this check and the end of the loop, so nothing committed after it can be missed.
        if (this.uploadAgain) {
          this.uploadAgain = false;
          continue;
        }
        return;
      }
      const result = await uploadLicense(this.settings, row, Date.now());
      await this.serialize(() => this.recordUpload(row, result, Date.now()));
    }
  }

  private async recordUpload(row: License, result: Awaited<ReturnType<typeof uploadLicense>>, now: number): Promise<void> {
    const { change, next } = uploadChange(this.db, row, result, now);
    await this.commitLicense(change, now, false);
    if (next.state === "failed") log("error", "license.delivery_failed", { instanceId: row.instanceId, eventId: row.eventId, code: next.lastErrorCode });
    else if (next.state === "issued") log("warn", "license.upload_failed", { instanceId: row.instanceId, eventId: row.eventId, attempts: next.uploadAttempts, code: next.lastErrorCode });
  }

  // ---- accepted calls ----------------------------------------------------------------------------------------------

  /** Whatever runs in the queue runs after the accepted call a failed batch or a restart left unwritten. */
  protected override serialize<T>(work: () => Promise<T>): Promise<T> {
    return super.serialize(async () => {
      await this.settleAccepted();
      return work();
    });
  }

  private async commitAccepted(accepted: Extract<AcceptedWork, { kind: "change" }>): Promise<void> {
    await this.commit(accepted.from, accepted.change, accepted.at, { inbox: accepted.inbox, ...(accepted.cache ? { cache: accepted.cache } : {}), settles: true });
  }

  /**
   * Writes the accepted call left unwritten, once: a change whose instance D1 still has at the version it was planned
   * on (otherwise its batch did land before the actor lost track), a kit sync whose inbox record is missing.
   */
  private async settleAccepted(): Promise<void> {
    const accepted = this.kv.get<AcceptedWork>(KV.accepted);
    if (!accepted) return;
    switch (accepted.kind) {
      case "change": {
        const current = await this.reload(accepted.from.id);
        if (current?.version === accepted.from.version) {
          await this.commitAccepted({ ...accepted, from: current });
          log("warn", "actor.accepted_written", { instanceId: current.id, activity: accepted.inbox.activity, version: accepted.change.next.version });
        } else {
          this.kv.delete(KV.accepted);
        }
        break;
      }
      case "kit":
        if (await findInboxEntry(this.db, accepted.call.callKey)) this.kv.delete(KV.accepted);
        else await this.applyKit(accepted.call);
        log("warn", "actor.accepted_written", { activity: accepted.call.kit.name });
        break;
      default: {
        const unhandled: never = accepted;
        throw new Error(`unknown accepted work ${JSON.stringify(unhandled)}`);
      }
    }
    await this.armAlarm();
  }

  // ---- the one write path ----------------------------------------------------------------------------------------

  private get auditKey(): Buffer {
    return auditKeyOf(this.settings.dataKey);
  }

  /** One change, one D1 batch: the instance (insert or optimistic update), inbox, audit row, events, extras. */
  private async commit(from: Instance | undefined, change: InstanceChange, at: number, extras: CommitExtras = {}): Promise<void> {
    const db = this.db;
    const { next } = change;
    const audit = nextAuditRow(this.auditKey, this.auditHead(), {
      instanceId: next.id,
      at,
      event: change.auditEvent,
      fromStatus: from?.status ?? null,
      toStatus: next.status,
      detail: change.auditDetail,
    });
    // The self-check's instances tell nobody: no feed entry, no webhook (src/operations/self-check/marker.ts).
    const drafts = isSelfCheckData(next.isTest, next.orderId) ? [] : change.events;
    const eventRows = drafts.map((draft) => eventRow(draft, this.settings.sellerWebhook !== undefined));
    // Due before the batch: if we die right after it, the alarm still delivers what it wrote.
    if (eventRows.some((row) => row.deliveryState === "pending")) this.markDeliveryDue(at);
    await db.batch([
      from ? statements.updateInstance(db, next.id, from.version, changesOf(from, next)) : statements.insertInstance(db, next),
      ...(extras.inbox ? [statements.insertInbox(db, extras.inbox)] : []),
      statements.insertAudit(db, audit),
      ...(isNonEmpty(eventRows) ? [outboxStatements.insertEvents(db, eventRows)] : []),
      ...(extras.statements ?? []),
    ]);
    this.ctx.storage.transactionSync(() => {
      this.kv.put(KV.instance, next);
      this.kv.put(KV.auditHead, { seq: audit.seq, hash: audit.hash });
      if (extras.cache) this.kv.put(KV.answer(extras.cache.key), extras.cache.value);
      if (extras.settles) this.kv.delete(KV.accepted);
      this.storeCallNonce();
    });
    if (next.status === "failed" && from?.status !== "failed") {
      this.problem(provisioningFailed(next), at);
      // Its order is no longer fetched: the failure is the problem that stays; a failing fetch has nothing left to say.
      inBackground((promise) => this.ctx.waitUntil(promise), () => clearProblem(this.env, "query_order.failing", next.id, at));
    }
  }

  /** As `load`, but an id D1 does not know costs one read and no write (callers may name ids nobody created). */
  private async existing(instanceId: string): Promise<Instance | undefined> {
    const cached = this.kv.get<Instance>(KV.instance);
    if (cached) return cached;
    return (await findInstance(this.db, instanceId)) ? this.reload(instanceId) : undefined;
  }

  /** The instance as this actor last wrote it, or as D1 has it when this actor has no copy yet. */
  private async load(instanceId: string): Promise<Instance | undefined> {
    const cached = this.kv.get<Instance>(KV.instance);
    if (cached) return cached;
    return this.reload(instanceId);
  }

  private async reload(instanceId: string): Promise<Instance | undefined> {
    const [instance, head] = await Promise.all([findInstance(this.db, instanceId), findAuditHead(this.db, instanceId)]);
    if (instance) this.kv.put(KV.instance, instance);
    else this.kv.delete(KV.instance);
    if (head) this.kv.put(KV.auditHead, head);
    else this.kv.delete(KV.auditHead);
    return instance;
  }

  private auditHead(): AuditHead | undefined {
    return this.kv.get<AuditHead>(KV.auditHead);
  }

  // ---- background work: order fetches and webhook deliveries, driven by the alarm ---------------------------------

  private schedulePending(item: PendingOrderFetch): void {
    this.replacePending(item, item);
  }

  private replacePending(item: PendingOrderFetch, replacement: PendingOrderFetch | null): void {
    const pending = (this.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? []).filter(
      (p) => !(p.orderId === item.orderId && p.orderLineId === item.orderLineId),
    );
    if (replacement) pending.push(replacement);
    if (pending.length === 0) this.kv.delete(KV.orderFetches);
    else this.kv.put(KV.orderFetches, pending);
  }

  private markDeliveryDue(at: number): void {
    const current = this.kv.get<number>(KV.deliveryDueAt);
    if (current === undefined || current > at) this.kv.put(KV.deliveryDueAt, at);
  }

  /** Arms the alarm for the earliest pending work, but not before `notBefore`. */
  private async armAlarm(notBefore = 0): Promise<void> {
    const pending = this.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? [];
    const deliveryDue = this.kv.get<number>(KV.deliveryDueAt);
    const licenseDue = this.kv.get<number>(KV.licenseDueAt);
    const instance = this.kv.get<Instance>(KV.instance);
    // An unprovisioned purchase fails when the Marketplace's window closes, whatever else is or is not pending.
    const windowEnd = instance && awaitsProvisioning(instance) ? provisioningDeadline(instance) : undefined;
    const times = [
      ...pending.map((p) => p.nextAt),
      ...(deliveryDue === undefined ? [] : [deliveryDue]),
      ...(licenseDue === undefined ? [] : [licenseDue]),
      ...(windowEnd === undefined ? [] : [windowEnd]),
      // An accepted call whose batch failed: the next alarm writes it.
      ...(this.kv.get<AcceptedWork>(KV.accepted) === undefined ? [] : [Date.now() + ALARM_FAILURE_RETRY_MS]),
    ];
    if (times.length === 0) return;
    const due = Math.max(Math.min(...times), notBefore);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(due);
  }

  /**
   * Fails a real purchase still unprovisioned when the Marketplace's window has closed (src/instances/provisioning-window.ts),
   * with instance.failed, and stops its order fetches; returns the instance as it is now. Inside the queue.
   */
  private async closeWindowIfDue(instance: Instance, now: number): Promise<Instance> {
    const expiry = windowExpiry(instance, now);
    if (!expiry) return instance;
    const stopped = (this.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? []).filter((p) => p.purpose === "create");
    const orderRows = stopped.map((item) =>
      statements.upsertOrder(this.db, {
        ...emptyOrderRow(instance.id, item, now),
        fetchState: "failed",
        fetchAttempts: item.attempts,
        lastError: "the Marketplace's 3-hour window closed before the order could be fetched",
      }),
    );
    await this.commit(instance, expiry, now, { statements: orderRows });
    for (const item of stopped) this.replacePending(item, null);
    await this.armAlarm();
    log("warn", "instance.window_closed", { instanceId: instance.id, orderKnown: instance.orderKnownAt !== null, stoppedFetches: stopped.length });
    return expiry.next;
  }

  override async alarm(): Promise<void> {
    let notBefore = 0;
    try {
      if (this.kv.get<AcceptedWork>(KV.accepted) !== undefined) await this.serialize(async () => undefined);
      const cached = this.kv.get<Instance>(KV.instance);
      const now = Date.now();
      const instance = cached && windowExpiry(cached, now) ? await this.serialize(() => this.closeWindowIfDue(cached, now)) : cached;
      const pending = this.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? [];
      if (instance) {
        for (const item of pending.filter((p) => p.nextAt <= now)) await this.fetchOrder(instance.id, item, now);
      } else if (pending.length > 0) {
        // The create that scheduled these never committed: nothing to fetch for.
        this.kv.delete(KV.orderFetches);
      }
      const stream = instance?.id ?? this.kv.get<string>(KV.stream);
      if (stream && this.kv.get<number>(KV.deliveryDueAt) !== undefined) await this.deliverDue(stream);
      const licenseDue = this.kv.get<number>(KV.licenseDueAt);
      if (instance && licenseDue !== undefined && licenseDue <= Date.now()) await this.uploadDue(instance.id);
    } catch (error) {
      // The failed work is still pending and overdue: re-armed at its own time the alarm would fire at once and call
      // query order again in a tight loop for as long as the failure lasts. A unique-key failure means this actor's
      // cache is behind D1 (a crash after a batch): reload, as applyOnce does, or every later alarm fails the same way.
      notBefore = Date.now() + ALARM_FAILURE_RETRY_MS;
      log("error", "actor.alarm_failed", { error: error instanceof Error ? error.message : String(error) });
      const instanceId = this.kv.get<Instance>(KV.instance)?.id;
      if (instanceId && isD1Error(error)) await this.serialize(() => this.reload(instanceId));
      throw error;
    } finally {
      // Whatever failed above, what is still pending keeps its alarm (the platform's own alarm retries are few).
      await this.armAlarm(notBefore);
    }
  }

  private async fetchOrder(instanceId: string, item: PendingOrderFetch, now: number): Promise<void> {
    let truth: OrderTruth;
    try {
      truth = await queryOrder(this.settings.marketplace, item.orderId, item.orderLineId, new Date(now), undefined, item.productId);
    } catch (error) {
      const retryable = error instanceof MarketplaceApiError ? error.retryable : true;
      const attempts = item.attempts + 1;
      const giveUp = shouldGiveUp(retryable, attempts);
      const message = error instanceof Error ? error.message : String(error);
      log(giveUp ? "error" : "warn", "order.fetch_failed", { instanceId, orderId: item.orderId, attempts, retryable, error: message });
      await this.serialize(async () => {
        const orderRow = statements.upsertOrder(this.db, {
          ...emptyOrderRow(instanceId, item, now),
          fetchState: giveUp ? "failed" : "pending",
          fetchAttempts: attempts,
          nextFetchAt: giveUp ? null : now + orderFetchDelay(attempts),
          lastError: message.slice(0, 500),
        });
        const loaded = await this.load(instanceId);
        const instance = loaded ? await this.closeWindowIfDue(loaded, Date.now()) : undefined;
        if (item.purpose === "create" && instance?.status === "failed") {
          this.replacePending(item, null);
          return;
        }
        // A record's failure costs the buyer nothing: the statement shows its amount null with the reason.
        if (instance && attempts >= QUERY_ORDER_FAILING_AFTER && item.purpose !== "record") this.problem(queryOrderFailing(instance, attempts, message, giveUp), now);
        if (giveUp && item.purpose === "create" && instance && instance.orderKnownAt === null && instance.status === "provisioning") {
          // No order, no provisioning: the purchase fails; a new newInstance from the Marketplace tries again.
          await this.commit(instance, purchaseFailed(instance, ResultCode.InternalError, ORDER_NEVER_FETCHED, now), now, { statements: [orderRow] });
        } else {
          await this.db.batch([orderRow]);
        }
        this.replacePending(item, giveUp ? null : { ...item, attempts, nextAt: now + orderFetchDelay(attempts) });
      });
      return;
    }
    await this.serialize(async () => {
      const loaded = await this.load(instanceId);
      if (!loaded) return;
      const instance = await this.closeWindowIfDue(loaded, Date.now());
      if (item.purpose === "create" && instance.status === "failed") {
        // Too late: the Marketplace has judged the purchase failed. Its answer changes nothing.
        this.replacePending(item, null);
        return;
      }
      const orderRow = statements.upsertOrder(this.db, await orderRowOf(this.settings, instanceId, item, truth, now));
      // A record for the statement: stored, the instance untouched (order-fetch.ts recordFetchOf).
      if (item.purpose === "record") await this.db.batch([orderRow]);
      else await this.commit(instance, await orderArrived(instance, item, truth, this.settings, now), now, { statements: [orderRow] });
      this.replacePending(item, null);
      if (item.attempts >= QUERY_ORDER_FAILING_AFTER) inBackground((promise) => this.ctx.waitUntil(promise), () => clearProblem(this.env, "query_order.failing", instanceId, now));
    });
  }

  /** Single flight: the alarm, a create and a kick share one delivery loop per actor. */
  private deliverDue(stream: string): Promise<void> {
    if (!this.delivering) {
      this.kv.put(KV.stream, stream);
      this.delivering = this.deliveryLoop(stream).finally(() => {
        this.delivering = null;
      });
    }
    return this.delivering;
  }

  /** Sends the stream's events in order: the next waits until the previous is acknowledged or has failed. */
  private async deliveryLoop(stream: string): Promise<void> {
    const target = this.settings.sellerWebhook;
    for (;;) {
      const [event] = await pendingEventsOf(this.db, stream, 1);
      if (!event || !target) {
        this.kv.delete(KV.deliveryDueAt);
        return;
      }
      const dueAt = event.nextAttemptAt ?? Date.now();
      if (dueAt > Date.now()) {
        this.kv.put(KV.deliveryDueAt, dueAt);
        return;
      }
      const attempt = await sendEvent(target, event, Date.now());
      await this.serialize(() => this.recordAttempt(stream, event, attempt, Date.now()));
    }
  }

  /** The seller backend answered a provisioning request: its delivery.failing clears (in the background here). */
  private backendAnswered(origin: string, now: number): void {
    inBackground(
      (promise) => this.ctx.waitUntil(promise),
      async () => {
        const cleared = await deliveryFailingClear(this.db, origin, now, alertConfigOf(this.env)).returning({ id: problems.id, alertResolved: problems.alertResolved });
        await afterClear(this.env, "delivery.failing", origin, cleared);
      },
    );
  }

  /** The attempt's verdict (src/instances/seller-provisioning.ts) committed with what it does to the purchase. */
  private async recordAttempt(stream: string, event: EventRow, attempt: DeliveryAttempt, now: number): Promise<void> {
    const db = this.db;
    // Problems are about the seller backend as a whole (its origin: the URL's path may hold a token).
    const origin = new URL(this.settings.sellerWebhook?.url ?? "http://unknown.invalid").origin;
    if (event.type === "license.requested") {
      const outcome = await licenseRequestDelivered(db, event, attempt, now);
      await this.commitLicense(outcome, now, outcome.issued);
      if (outcome.retryAt !== undefined) {
        this.kv.put(KV.deliveryDueAt, outcome.retryAt);
        if (event.attempts + 1 >= DELIVERY_FAILING_AFTER) this.problem(deliveryFailing(origin, event, event.attempts + 1, describeAttempt(attempt)), now);
      } else if (attempt.kind === "answered" && attempt.status >= 200 && attempt.status < 300) {
        this.backendAnswered(origin, now);
      }
      return;
    }
    const loaded = event.instanceId ? await this.load(event.instanceId) : undefined;
    // A seller's answer after the window is no answer: the purchase has failed, the event is merely delivered.
    const instance = loaded ? await this.closeWindowIfDue(loaded, now) : undefined;
    const awaiting = awaitsSeller(event, instance, this.settings) ? instance : undefined;
    const verdict = judgeDelivery(event, attempt, awaiting !== undefined, now);
    const status = attempt.kind === "answered" ? attempt.status : null;
    const delivered = outboxStatements.markDelivered(db, event.seq, status ?? 0, now);
    switch (verdict.kind) {
      case "delivered": {
        // In the acknowledgement's own batch: a healthy backend costs no extra round trip.
        const [, cleared] = await db.batch([delivered, deliveryFailingClear(db, origin, now, alertConfigOf(this.env)).returning({ id: problems.id, alertResolved: problems.alertResolved })]);
        if (cleared.length > 0) inBackground((promise) => this.ctx.waitUntil(promise), () => afterClear(this.env, "delivery.failing", origin, cleared));
        return;
      }
      case "provisioned":
        if (!awaiting) return;
        await this.commit(awaiting, await provisionedBySeller(awaiting, verdict.body, this.settings.dataKey, now, "provisionedByWebhook"), now, { statements: [delivered] });
        this.backendAnswered(origin, now);
        return;
      case "refused":
        if (!awaiting) return;
        await this.commit(awaiting, purchaseFailed(awaiting, verdict.resultCode, verdict.message, now), now, { statements: [delivered] });
        this.backendAnswered(origin, now);
        return;
      case "retry":
        log("warn", "webhook.attempt_failed", { stream, eventId: event.id, type: event.type, attempts: verdict.attempts, reason: verdict.reason.slice(0, 200) });
        await db.batch([outboxStatements.markRetry(db, event.seq, { attempts: verdict.attempts, nextAttemptAt: verdict.nextAttemptAt, status, error: verdict.reason.slice(0, 500) }, now)]);
        this.kv.put(KV.deliveryDueAt, verdict.nextAttemptAt);
        // After the batch: an acknowledgement elsewhere now sees this event's attempts and leaves the problem open.
        if (verdict.attempts >= DELIVERY_FAILING_AFTER) this.problem(deliveryFailing(origin, event, verdict.attempts, verdict.reason), now);
        return;
      case "give-up": {
        log("error", "webhook.delivery_failed", { stream, eventId: event.id, type: event.type, attempts: verdict.attempts, reason: verdict.reason.slice(0, 200) });
        this.problem(deliveryFailed(origin, event, verdict.attempts, verdict.reason), now);
        const failed = outboxStatements.markFailed(db, event.seq, { attempts: verdict.attempts, status, error: verdict.reason.slice(0, 500) }, now);
        if (verdict.failPurchase && awaiting) await this.commit(awaiting, purchaseFailed(awaiting, ResultCode.InternalError, SELLER_WINDOW_MISSED, now), now, { statements: [failed] });
        else await db.batch([failed]);
        return;
      }
      default: {
        const unhandled: never = verdict;
        throw new Error(`unhandled delivery verdict ${JSON.stringify(unhandled)}`);
      }
    }
  }
}

/** The columns that differ: the UPDATE sets only those. */
function changesOf(before: Instance, after: Instance): Partial<Instance> {
  const changes: Partial<Record<keyof Instance, unknown>> = {};
  for (const name of Object.keys(after) as (keyof Instance)[]) {
    if (before[name] !== after[name]) changes[name] = after[name];
  }
  return changes as Partial<Instance>;
}

const REPLAYED: Outcome = { resultCode: ResultCode.AuthFailed, resultMsg: "nonce was already used (replay)", replay: true };

function withoutAppInfo(outcome: Outcome): Outcome {
  const { appInfo: _appInfo, ...rest } = outcome;
  return rest;
}

function conflict(envelope: CallEnvelope): Outcome {
  return { resultCode: ResultCode.InvalidParameter, resultMsg: `${envelope.activity}: this idempotency key was already used with different parameters` };
}

function repeatOutcome(cached: CachedOutcome, envelope: CallEnvelope): Outcome {
  return cached.fingerprint === envelope.fingerprint ? cached.outcome : conflict(envelope);
}

function inboxRow(key: string, envelope: CallEnvelope, instanceId: string, outcome: Outcome) {
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

function isNonEmpty<T>(list: T[]): list is [T, ...T[]] {
  return list.length > 0;
}

function isD1Error(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  return /D1_|SQLITE_CONSTRAINT|UNIQUE constraint|constraint failed/i.test(text);
}

export function getInstanceActor(env: Env, instanceId: string) {
  return env.INSTANCES.get(env.INSTANCES.idFromName(instanceId));
}
