import { DurableObject } from "cloudflare:workers";
import type { BatchItem } from "drizzle-orm/batch";
import { openSecret, sealSecret } from "../crypto/data-key";
import { type Db, getDb } from "../db/client";
import type { Instance } from "../db/schema/instances";
import { type Settings, getSettings } from "../env";
import { type DeliveryAttempt, DELIVERY_WINDOW_MS, describeAttempt, retryDelayMs, sendEvent } from "../events/delivery";
import { type EventDraft, eventRow, outboxStatements, pendingEventsOf } from "../events/outbox";
import { auditKeyOf } from "../instances/audit-chain";
import type { AppInfo, CallEnvelope, CreateCommand, InstanceCommand, LifecycleCommand, Outcome } from "../instances/commands";
import { entitlementOf } from "../instances/entitlement";
import { instanceEvent } from "../instances/instance-events";
import { type AuditHead, findAuditHead, findInboxEntry, findInstance, nextAuditRow, statements } from "../instances/instance.repo";
import { type PendingOrderFetch, emptyOrderRow, orderFetchDelay, orderRowOf, shouldGiveUp } from "../instances/order-fetch";
import { builtinTenant } from "../instances/provisioning/builtin-tenant";
import { readProvisioningAnswer } from "../instances/provisioning/webhook-answer";
import type { CredentialsResult, ProvisionedBody, ProvisioningFailedBody, SellerWriteResult } from "../instances/seller-commands";
import { type LifecycleEvent, transition } from "../instances/state-machine";
import { type KitAnswer, type KitSyncCall, applyKitSync } from "../kit/kit-sync";
import { MarketplaceApiError } from "../marketplace-api/errors";
import { type OrderTruth, queryOrder } from "../marketplace-api/order.api";
import { log } from "../observability/log";
import { ResultCode } from "../protocol/result-codes";

type Statement = BatchItem<"sqlite">;

interface CachedOutcome {
  outcome: Outcome;
  fingerprint: string;
}

/**
 * A real newInstance asks query order before it provisions (order first), inside the 3 s the Marketplace gives the
 * whole answer: this leaves about a second for the D1 batch and the answer. Slower means 000004 and a background retry.
 */
export const ORDER_FIRST_TIMEOUT_MS = 1_500;
/** The Marketplace retries a new purchase for 3 hours, then refunds it (spec §7): the seller's backend has that long. */
export const PROVISIONING_WINDOW_MS = 3 * 3600_000;
/** After an alarm that threw, the next one waits this long, whatever is overdue. */
export const ALARM_FAILURE_RETRY_MS = 30_000;

const KV = {
  instance: "instance",
  auditHead: "auditHead",
  orderFetches: "orderFetches",
  deliveryDueAt: "deliveryDueAt",
  /** The event stream this actor delivers: its instance, or the tenant a kit actor is named after. */
  stream: "stream",
  answer: (key: string) => `answer:${key}`,
} as const;

/** Everything one change writes, in one D1 batch: the instance, its inbox record, its audit row, its events. */
interface Change {
  instanceId: string;
  at: number;
  /** The instance after the change; `insert` for a new purchase, else an optimistic update from `from`. */
  next: Instance;
  from: Instance | undefined;
  auditEvent: string;
  auditDetail: Record<string, unknown>;
  events?: EventDraft[];
  inbox?: Parameters<typeof statements.insertInbox>[1];
  extra?: Statement[];
  cache?: { key: string; value: CachedOutcome };
}

/**
 * One actor per instance id: a serialising shell. Every change to the instance happens here, one call at a time, as
 * one D1 batch (the record) of what the domain modules in src/instances decide; this object's own storage caches what
 * it wrote (instance row, audit head, answers), so repeats and the next change need no D1 read. Whenever that cache
 * could be stale (a crash between the D1 batch and the cache write), the batch fails on a unique key and the actor
 * reloads from D1. Background work (query order retries, webhook deliveries) runs from the alarm, which always
 * re-arms itself for whatever is still pending.
 */
export class InstanceActor extends DurableObject<Env> {
  private tail: Promise<unknown> = Promise.resolve();
  private delivering: Promise<void> | null = null;

  /** A promise chain, not blockConcurrencyWhile: network calls (query order, webhooks) must not stall the object. */
  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private get db(): Db {
    return getDb(this.env);
  }

  private get settings(): Settings {
    return getSettings(this.env);
  }

  private get kv(): SyncKvStorage {
    return this.ctx.storage.kv;
  }

  // ---- Marketplace callbacks ---------------------------------------------------------------------------------------

  async apply(instanceId: string, envelope: CallEnvelope, command: InstanceCommand): Promise<Outcome> {
    const outcome = await this.serialize(() => this.applyOnce(instanceId, envelope, command));
    if (command.kind !== "create" || outcome.resultCode !== ResultCode.Processing || this.settings.provisioning.mode !== "webhook") return outcome;
    // Webhook provisioning: the seller's backend gets instance.created now, and its answer may finish the purchase
    // within this very call; the caller's budget answers 000004 if it takes longer.
    await this.deliverDue(instanceId);
    await this.armAlarm();
    // Answered from where the purchase is now, not by applying the create again: a refusal the backend just gave is
    // this call's answer, not a failed purchase for a new newInstance to retry.
    return this.serialize(async () => {
      const instance = await this.load(instanceId);
      return instance ? this.createOutcome(instance) : outcome;
    });
  }

  private async applyOnce(instanceId: string, envelope: CallEnvelope, command: InstanceCommand): Promise<Outcome> {
    const key = envelope.idempotencyKey;
    if (key && command.kind === "lifecycle") {
      const cached = this.kv.get<CachedOutcome>(KV.answer(key));
      if (cached) return repeatOutcome(cached, envelope);
    }
    try {
      return await this.execute(instanceId, envelope, command);
    } catch (error) {
      if (!isD1Error(error)) throw error;
      // The batch hit a unique key: an earlier life of this actor wrote to D1 and died before caching it.
      log("warn", "actor.reload", { instanceId, activity: envelope.activity, reason: String(error) });
      await this.reload(instanceId);
      if (key && command.kind === "lifecycle") {
        const entry = await findInboxEntry(this.db, key);
        if (entry) {
          const cached: CachedOutcome = { outcome: JSON.parse(entry.answer) as Outcome, fingerprint: entry.fingerprint };
          this.kv.put(KV.answer(key), cached);
          return repeatOutcome(cached, envelope);
        }
      }
      return this.execute(instanceId, envelope, command);
    }
  }

  private execute(instanceId: string, envelope: CallEnvelope, command: InstanceCommand): Promise<Outcome> {
    switch (command.kind) {
      case "create":
        return this.create(instanceId, envelope, command);
      case "lifecycle":
        return this.change(instanceId, envelope, command);
      default: {
        const unhandled: never = command;
        throw new Error(`unknown command ${JSON.stringify(unhandled)}`);
      }
    }
  }

  private async create(instanceId: string, envelope: CallEnvelope, command: CreateCommand): Promise<Outcome> {
    const existing = await this.load(instanceId);
    const key = envelope.idempotencyKey ?? command.createKey;
    const now = envelope.receivedAt;
    if (existing) {
      const seen = this.kv.get<CachedOutcome>(KV.answer(key)) ?? (await this.recordedCreate(key));
      if (seen && seen.fingerprint !== envelope.fingerprint) return conflict(envelope);
      if (existing.status === "failed" && !existing.isTest) return this.retryFailedCreate(existing, envelope, command, key, seen === undefined);
      if (!seen) {
        // The same purchase through the other dialect (V1 and V2 share the create key, not the inbox key).
        const outcome = await this.createOutcome(existing);
        await this.commitInboxOnly(inboxRow(key, envelope, instanceId, outcome));
        this.kv.put(KV.answer(key), { outcome: withoutAppInfo(outcome), fingerprint: envelope.fingerprint });
        return outcome;
      }
      return this.createOutcome(existing);
    }

    const row = newInstanceRow(instanceId, command, envelope);
    const events: EventDraft[] = [];
    const extra: Statement[] = [];
    let truth: OrderTruth | undefined;
    if (!envelope.isTest) {
      truth = await this.fetchOrderFirst(instanceId, command, now);
      const item: PendingOrderFetch = { orderId: command.orderId, orderLineId: command.orderLineId, productId: command.productId, purpose: "create", activity: envelope.activity, attempts: 0, nextAt: now };
      if (truth) extra.push(statements.upsertOrder(this.db, await orderRowOf(this.settings, instanceId, item, truth, now)));
      else {
        extra.push(statements.upsertOrder(this.db, { ...emptyOrderRow(instanceId, item, now), fetchAttempts: 1, nextFetchAt: now + orderFetchDelay(1), lastError: "no answer in time for the first reply" }));
        // Scheduled before the batch: if we die after it, the alarm still fetches the order.
        this.schedulePending({ ...item, attempts: 1, nextAt: now + orderFetchDelay(1) });
      }
    }
    let next: Instance = truth ? withOrderTruth(row, truth, now) : row;
    if (envelope.isTest || truth) {
      const provisioned = await this.provision(next, now);
      next = provisioned.next;
      events.push(...provisioned.events);
    }
    const outcome = await this.createOutcome(next);
    await this.commit({
      instanceId,
      at: now,
      next,
      from: undefined,
      auditEvent: envelope.activity,
      auditDetail: { orderId: command.orderId, orderLineId: command.orderLineId, isTest: envelope.isTest, orderKnown: next.orderKnownAt !== null },
      events,
      inbox: inboxRow(key, envelope, instanceId, outcome),
      extra,
      cache: { key, value: { outcome: withoutAppInfo(outcome), fingerprint: envelope.fingerprint } },
    });
    await this.armAlarm();
    log("info", "instance.created", { instanceId, status: next.status, isTest: next.isTest, orderKnown: next.orderKnownAt !== null });
    return outcome;
  }

  /** A new newInstance for a failed purchase is the Marketplace retrying it: provision again instead of replaying the failure. */
  private async retryFailedCreate(existing: Instance, envelope: CallEnvelope, command: CreateCommand, key: string, firstOfKey: boolean): Promise<Outcome> {
    const now = envelope.receivedAt;
    let next: Instance = { ...existing, status: "provisioning", failureCode: null, failureReason: null, version: existing.version + 1, updatedAt: now };
    const events: EventDraft[] = [];
    const extra: Statement[] = [];
    if (next.orderKnownAt === null) {
      // The purchase's own line, whichever dialect retries it (V1 carries none): its failed order row is the one retried.
      const orderLineId = existing.orderLineId ?? command.orderLineId;
      const truth = await this.fetchOrderFirst(existing.id, { ...command, orderLineId }, now);
      const item: PendingOrderFetch = { orderId: command.orderId, orderLineId, productId: command.productId, purpose: "create", activity: envelope.activity, attempts: 0, nextAt: now };
      if (truth) {
        extra.push(statements.upsertOrder(this.db, await orderRowOf(this.settings, existing.id, item, truth, now)));
        next = withOrderTruth(next, truth, now);
      } else {
        // The order row says pending again, as for a first create: roll-up and reconciliation read `failed` as never fetched.
        extra.push(statements.upsertOrder(this.db, { ...emptyOrderRow(existing.id, item, now), fetchAttempts: 1, nextFetchAt: now + orderFetchDelay(1), lastError: "no answer in time for the first reply" }));
        this.schedulePending({ ...item, attempts: 1, nextAt: now + orderFetchDelay(1) });
      }
    }
    if (next.orderKnownAt !== null) {
      const provisioned = await this.provision(next, now);
      next = provisioned.next;
      events.push(...provisioned.events);
    }
    const outcome = await this.createOutcome(next);
    await this.commit({
      instanceId: existing.id,
      at: now,
      next,
      from: existing,
      auditEvent: "provisioningRetried",
      auditDetail: { activity: envelope.activity, previousFailure: existing.failureReason },
      events,
      ...(firstOfKey ? { inbox: inboxRow(key, envelope, existing.id, outcome), cache: { key, value: { outcome: withoutAppInfo(outcome), fingerprint: envelope.fingerprint } } } : {}),
      extra,
    });
    await this.armAlarm();
    return outcome;
  }

  private async recordedCreate(key: string): Promise<CachedOutcome | undefined> {
    const entry = await findInboxEntry(this.db, key);
    if (!entry) return undefined;
    const cached: CachedOutcome = { outcome: JSON.parse(entry.answer) as Outcome, fingerprint: entry.fingerprint };
    this.kv.put(KV.answer(key), cached);
    return cached;
  }

  /** Query order inside the create's budget; undefined when it failed or was slow (the alarm retries). */
  private async fetchOrderFirst(instanceId: string, command: CreateCommand, now: number): Promise<OrderTruth | undefined> {
    try {
      return await queryOrder(this.settings.marketplace, command.orderId, command.orderLineId, new Date(now), ORDER_FIRST_TIMEOUT_MS, command.productId);
    } catch (error) {
      log("warn", "order.first_fetch_failed", { instanceId, orderId: command.orderId, error: error instanceof Error ? error.message : String(error) });
      return undefined;
    }
  }

  /**
   * Provisioning once the order is known (debug purchases: at once). Builtin, and every debug purchase: the gateway
   * issues the login itself. Webhook: instance.created is the provisioning request; its answer finishes it.
   */
  private async provision(instance: Instance, now: number): Promise<{ next: Instance; events: EventDraft[] }> {
    if (this.settings.provisioning.mode === "webhook" && !instance.isTest) {
      return { next: instance, events: [instanceEvent("instance.created", instance, now, {}, instance.createdAt + PROVISIONING_WINDOW_MS)] };
    }
    const tenant = builtinTenant(this.settings.frontendUrlTemplate, instance.id);
    const next: Instance = {
      ...instance,
      status: instance.status === "provisioning" ? "active" : instance.status,
      frontendUrl: tenant.frontendUrl,
      adminUrl: tenant.adminUrl ?? null,
      adminUserName: tenant.adminUserName,
      adminPasswordSealed: await sealSecret(this.settings.dataKey, tenant.adminPassword),
      provisionedAt: now,
    };
    return { next, events: [instanceEvent("instance.created", instance, now), instanceEvent("instance.provisioned", next, now)] };
  }

  /** A create's answer follows the instance's state, so every repeat tells the Marketplace where the purchase is. */
  private async createOutcome(instance: Instance): Promise<Outcome> {
    const instanceId = instance.id;
    if (instance.status === "failed") {
      return { resultCode: instance.failureCode ?? ResultCode.InternalError, resultMsg: (instance.failureReason ?? "provisioning failed").slice(0, 255), instanceId };
    }
    if (instance.status === "released") return { resultCode: ResultCode.Success, resultMsg: "success", instanceId };
    const appInfo = await this.appInfoOf(instance);
    if (!appInfo) return { resultCode: ResultCode.Processing, resultMsg: "provisioning", instanceId };
    return { resultCode: ResultCode.Success, resultMsg: "success", instanceId, appInfo };
  }

  private async appInfoOf(instance: Instance): Promise<AppInfo | undefined> {
    if (instance.provisionedAt === null || !instance.frontendUrl) return undefined;
    const appInfo: AppInfo = { frontEndUrl: instance.frontendUrl };
    if (instance.adminUrl) appInfo.adminUrl = instance.adminUrl;
    if (instance.adminUserName) appInfo.userName = instance.adminUserName;
    if (instance.adminPasswordSealed) appInfo.password = await openSecret(this.settings.dataKey, instance.adminPasswordSealed);
    if (instance.memo) appInfo.memo = instance.memo;
    return appInfo;
  }

  private async change(instanceId: string, envelope: CallEnvelope, command: LifecycleCommand): Promise<Outcome> {
    const instance = await this.load(instanceId);
    if (!instance) {
      // Saved debug cases replay in any order forever (spec §8): never fail them for a missing instance.
      return envelope.isTest
        ? { resultCode: ResultCode.Success, resultMsg: "debug call for an unknown instance: nothing changed" }
        : { resultCode: ResultCode.InstanceNotFound, resultMsg: `instance ${instanceId} does not exist` };
    }
    if (envelope.isTest && !instance.isTest) return { resultCode: ResultCode.Success, resultMsg: "debug call: a real instance is not touched" };
    // A debug instance is no purchase: a real call never acts on it.
    if (!envelope.isTest && instance.isTest) return { resultCode: ResultCode.InstanceNotFound, resultMsg: `instance ${instanceId} does not exist` };

    const now = envelope.receivedAt;
    const event = lifecycleEventOf(command, now);
    const verdict = transition({ status: instance.status, frozenReason: instance.frozenReason, provisioned: instance.provisionedAt !== null }, event);
    if (verdict.type === "reject") {
      // The platform replays saved debug cases twice a day, in any order, after their release too (spec §8, §9).
      if (envelope.isTest) return SUCCESS;
      return { resultCode: verdict.code, resultMsg: `${verdict.message} (instance ${instanceId})` };
    }
    if (verdict.type === "noop") {
      // Same bytes as the answer that applied it: the debugger and the retry rules expect a repeat to read the same.
      log("info", "instance.unchanged", { instanceId, activity: envelope.activity, reason: verdict.reason });
      return SUCCESS;
    }

    const next: Instance = { ...instance, status: verdict.to, frozenReason: verdict.frozenReason, version: instance.version + 1, updatedAt: now };
    const events: EventDraft[] = [];
    switch (event.kind) {
      case "renew":
        if (command.expireAt !== undefined) Object.assign(next, { expireAt: command.expireAt, expireSource: "refresh" });
        if (command.productId) next.productId = command.productId;
        if (instance.status === "frozen" && next.status !== "frozen") next.frozenAt = null;
        events.push(instanceEvent("instance.renewed", next, now, { scene: command.scene ?? null }));
        if (instance.status === "frozen" && next.status !== "frozen") events.push(instanceEvent("instance.unfrozen", next, now, { reason: "renewed" }));
        break;
      case "freeze":
        if (instance.status !== "frozen") next.frozenAt = now;
        events.push(instanceEvent("instance.frozen", next, now, { reason: next.frozenReason }));
        break;
      case "unfreeze":
        next.frozenAt = null;
        events.push(instanceEvent("instance.unfrozen", next, now, { reason: instance.frozenReason }));
        break;
      case "release":
        next.releasedAt = now;
        events.push(instanceEvent("instance.released", next, now));
        break;
      case "upgrade":
        if (envelope.isTest) {
          // Debug upgrades never reach query order: the event says the upgrade happened, with nothing new to show.
          events.push(instanceEvent("instance.upgraded", next, now, { previous: { productId: instance.productId, skuCode: instance.skuCode } }));
        } else if (command.orderId) {
          this.schedulePending({ orderId: command.orderId, orderLineId: command.orderLineId ?? null, productId: command.productId ?? null, purpose: "upgrade", activity: envelope.activity, attempts: 0, nextAt: now });
        }
        break;
      case "checkChange":
        break;
    }
    const outcome: Outcome = SUCCESS;
    const key = envelope.idempotencyKey ?? `${envelope.activity}:${instanceId}:v${next.version}`;
    await this.commit({
      instanceId,
      at: now,
      next,
      from: instance,
      auditEvent: envelope.activity,
      auditDetail: {
        ...(command.scene ? { scene: command.scene } : {}),
        ...(command.orderId ? { orderId: command.orderId } : {}),
        ...(command.expireAt !== undefined ? { expireAt: command.expireAt } : {}),
        ...(command.reason ? { reason: command.reason } : {}),
        ...(next.frozenReason ? { frozenReason: next.frozenReason } : {}),
        isTest: envelope.isTest,
      },
      events,
      inbox: inboxRow(key, envelope, instanceId, outcome),
      ...(envelope.idempotencyKey ? { cache: { key: envelope.idempotencyKey, value: { outcome, fingerprint: envelope.fingerprint } } } : {}),
    });
    await this.armAlarm();
    log("info", "instance.changed", { instanceId, activity: envelope.activity, from: instance.status, to: next.status, frozenReason: next.frozenReason });
    return outcome;
  }

  // ---- the seller's backend (seller API) ---------------------------------------------------------------------------

  /** POST /api/v1/instances/{id}/provisioned: finishes a webhook provisioning answered 202. */
  async provisioned(instanceId: string, body: ProvisionedBody, now: number): Promise<SellerWriteResult> {
    return this.serialize(async () => {
      const instance = await this.load(instanceId);
      if (!instance) return { status: 404, error: `instance ${instanceId} does not exist` };
      if (instance.provisionedAt !== null) {
        return (await this.sameProvisioning(instance, body))
          ? { status: 200, entitlement: entitlementOf(instance) }
          : { status: 409, error: "instance is already provisioned with other details" };
      }
      const refusal = this.notAwaitingSeller(instance);
      if (refusal) return { status: 409, error: refusal };
      const next = await this.finishProvisioning(instance, body, now, [], "provisionedBySellerApi");
      await this.armAlarm();
      return { status: 200, entitlement: entitlementOf(next) };
    });
  }

  /** POST /api/v1/instances/{id}/provisioning-failed: the Marketplace gets the seller's code. */
  async provisioningFailed(instanceId: string, body: ProvisioningFailedBody, now: number): Promise<SellerWriteResult> {
    return this.serialize(async () => {
      const instance = await this.load(instanceId);
      if (!instance) return { status: 404, error: `instance ${instanceId} does not exist` };
      if (instance.status === "failed") {
        return instance.failureCode === body.resultCode
          ? { status: 200, entitlement: entitlementOf(instance) }
          : { status: 409, error: `instance already failed with ${instance.failureCode ?? ResultCode.InternalError}` };
      }
      if (instance.provisionedAt !== null) return { status: 409, error: "instance is already provisioned" };
      const refusal = this.notAwaitingSeller(instance);
      if (refusal) return { status: 409, error: refusal };
      const next = await this.failInstance(instance, body.resultCode, body.message, now, []);
      await this.armAlarm();
      return { status: 200, entitlement: entitlementOf(next) };
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
      const password = await openSecret(this.settings.dataKey, instance.adminPasswordSealed);
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

  private notAwaitingSeller(instance: Instance): string | undefined {
    if (instance.isTest) return "a debug purchase is provisioned by the gateway";
    if (this.settings.provisioning.mode !== "webhook") return "PROVISIONING_MODE is builtin: the gateway provisions every purchase";
    if (instance.status === "released") return "instance has been released";
    if (instance.status === "failed") return "instance has failed";
    if (instance.orderKnownAt === null) return "instance is waiting for its order; instance.created has not been sent";
    return undefined;
  }

  private async sameProvisioning(instance: Instance, body: ProvisionedBody): Promise<boolean> {
    const password = instance.adminPasswordSealed ? await openSecret(this.settings.dataKey, instance.adminPasswordSealed) : undefined;
    return (
      instance.frontendUrl === body.frontEndUrl &&
      instance.adminUrl === (body.adminUrl ?? null) &&
      instance.adminUserName === (body.userName ?? null) &&
      password === body.password &&
      instance.memo === (body.memo ?? null)
    );
  }

  private async finishProvisioning(instance: Instance, body: ProvisionedBody, now: number, extra: Statement[], auditEvent: string): Promise<Instance> {
    const next: Instance = {
      ...instance,
      status: instance.status === "provisioning" ? "active" : instance.status,
      frontendUrl: body.frontEndUrl,
      adminUrl: body.adminUrl ?? null,
      adminUserName: body.userName ?? null,
      adminPasswordSealed: body.password ? await sealSecret(this.settings.dataKey, body.password) : null,
      memo: body.memo ?? null,
      provisionedAt: now,
      version: instance.version + 1,
      updatedAt: now,
    };
    await this.commit({
      instanceId: instance.id,
      at: now,
      next,
      from: instance,
      auditEvent,
      auditDetail: { frontEndUrl: body.frontEndUrl },
      events: [instanceEvent("instance.provisioned", next, now)],
      extra,
    });
    log("info", "instance.provisioned", { instanceId: instance.id, by: auditEvent });
    return next;
  }

  private async failInstance(instance: Instance, resultCode: string, reason: string, now: number, extra: Statement[]): Promise<Instance> {
    const next: Instance = { ...instance, status: "failed", failureCode: resultCode, failureReason: reason.slice(0, 255), version: instance.version + 1, updatedAt: now };
    await this.commit({
      instanceId: instance.id,
      at: now,
      next,
      from: instance,
      auditEvent: "provisioningFailed",
      auditDetail: { resultCode, reason: next.failureReason },
      events: [instanceEvent("instance.failed", next, now, { reason: next.failureReason, resultCode })],
      extra,
    });
    log("warn", "instance.failed", { instanceId: instance.id, resultCode });
    return next;
  }

  // ---- joint-operation kit -----------------------------------------------------------------------------------------

  /**
   * Kit syncs for this instance (or, for the seller's own calls without one, for the tenant this actor is named
   * after: kitActorName) queue behind every other change here, so two syncs of one tenant never interleave.
   */
  async kitSync(call: KitSyncCall): Promise<KitAnswer> {
    const answer = await this.serialize(() => applyKitSync(this.env, call));
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

  // ---- the one write path ----------------------------------------------------------------------------------------

  private get auditKey(): Buffer {
    return auditKeyOf(this.settings.dataKey);
  }

  private async commit(change: Change): Promise<void> {
    const db = this.db;
    const audit = nextAuditRow(this.auditKey, this.auditHead(), {
      instanceId: change.instanceId,
      at: change.at,
      event: change.auditEvent,
      fromStatus: change.from?.status ?? null,
      toStatus: change.next.status,
      detail: change.auditDetail,
    });
    const webhook = this.settings.sellerWebhook !== undefined;
    const eventRows = (change.events ?? []).map((draft) => eventRow(draft, webhook));
    // Due before the batch: if we die right after it, the alarm still delivers what it wrote.
    if (eventRows.some((row) => row.deliveryState === "pending")) this.markDeliveryDue(change.at);
    const first: Statement = change.from
      ? statements.updateInstance(db, change.instanceId, change.from.version, changesOf(change.from, change.next))
      : statements.insertInstance(db, change.next);
    await db.batch([
      first,
      ...(change.inbox ? [statements.insertInbox(db, change.inbox)] : []),
      statements.insertAudit(db, audit),
      ...eventRows.map((row) => outboxStatements.insertEvent(db, row)),
      ...(change.extra ?? []),
    ]);
    this.ctx.storage.transactionSync(() => {
      this.kv.put(KV.instance, change.next);
      this.kv.put(KV.auditHead, { seq: audit.seq, hash: audit.hash });
      if (change.cache) this.kv.put(KV.answer(change.cache.key), change.cache.value);
    });
  }

  private async commitInboxOnly(row: Parameters<typeof statements.insertInbox>[1]): Promise<void> {
    await this.db.batch([statements.insertInbox(this.db, row)]);
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
    const pending = (this.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? []).filter(
      (p) => !(p.orderId === item.orderId && p.orderLineId === item.orderLineId),
    );
    pending.push(item);
    this.kv.put(KV.orderFetches, pending);
  }

  private markDeliveryDue(at: number): void {
    const current = this.kv.get<number>(KV.deliveryDueAt);
    if (current === undefined || current > at) this.kv.put(KV.deliveryDueAt, at);
  }

  /** Arms the alarm for the earliest pending work, but not before `notBefore`. */
  private async armAlarm(notBefore = 0): Promise<void> {
    const pending = this.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? [];
    const deliveryDue = this.kv.get<number>(KV.deliveryDueAt);
    const times = [...pending.map((p) => p.nextAt), ...(deliveryDue === undefined ? [] : [deliveryDue])];
    if (times.length === 0) return;
    const due = Math.max(Math.min(...times), notBefore);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(due);
  }

  override async alarm(): Promise<void> {
    let notBefore = 0;
    try {
      const instance = this.kv.get<Instance>(KV.instance);
      const pending = this.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? [];
      const now = Date.now();
      if (instance) {
        for (const item of pending.filter((p) => p.nextAt <= now)) await this.fetchOrder(instance.id, item, now);
      } else if (pending.length > 0) {
        // The create that scheduled these never committed: nothing to fetch for.
        this.kv.delete(KV.orderFetches);
      }
      const stream = instance?.id ?? this.kv.get<string>(KV.stream);
      if (stream && this.kv.get<number>(KV.deliveryDueAt) !== undefined) await this.deliverDue(stream);
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
        const failed = { ...emptyOrderRow(instanceId, item, now), fetchState: giveUp ? ("failed" as const) : ("pending" as const), fetchAttempts: attempts, nextFetchAt: giveUp ? null : now + orderFetchDelay(attempts), lastError: message.slice(0, 500) };
        const instance = await this.load(instanceId);
        if (giveUp && item.purpose === "create" && instance && instance.orderKnownAt === null && instance.status === "provisioning") {
          // No order, no provisioning: the purchase fails; a new newInstance from the Marketplace tries again.
          await this.failInstance(instance, ResultCode.InternalError, "the order could not be fetched from query order", now, [statements.upsertOrder(this.db, failed)]);
        } else {
          await statements.upsertOrder(this.db, failed);
        }
        this.replacePending(item, giveUp ? null : { ...item, attempts, nextAt: now + orderFetchDelay(attempts) });
      });
      return;
    }
    await this.serialize(() => this.applyOrderTruth(instanceId, item, truth, now));
  }

  private async applyOrderTruth(instanceId: string, item: PendingOrderFetch, truth: OrderTruth, now: number): Promise<void> {
    const instance = await this.load(instanceId);
    if (!instance) return;
    const orderRow = await orderRowOf(this.settings, instanceId, { ...item, attempts: item.attempts }, truth, now);
    let next: Instance = { ...withOrderTruth(instance, truth, now), version: instance.version + 1, updatedAt: now };
    const events: EventDraft[] = [];
    if (item.purpose === "upgrade") {
      events.push(instanceEvent("instance.upgraded", next, now, { previous: { productId: instance.productId, skuCode: instance.skuCode } }));
    } else if (instance.orderKnownAt === null && instance.provisionedAt === null && (instance.status === "provisioning" || instance.status === "frozen")) {
      const provisioned = await this.provision(next, now);
      next = provisioned.next;
      events.push(...provisioned.events);
    }
    await this.commit({
      instanceId,
      at: now,
      next,
      from: instance,
      auditEvent: "orderFetched",
      auditDetail: { orderId: item.orderId, purpose: item.purpose, orderType: truth.orderType, chargingMode: truth.chargingMode, expireAt: next.expireAt },
      events,
      extra: [statements.upsertOrder(this.db, orderRow)],
    });
    this.replacePending(item, null);
  }

  private replacePending(item: PendingOrderFetch, replacement: PendingOrderFetch | null): void {
    const pending = (this.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? []).filter(
      (p) => !(p.orderId === item.orderId && p.orderLineId === item.orderLineId),
    );
    if (replacement) pending.push(replacement);
    if (pending.length === 0) this.kv.delete(KV.orderFetches);
    else this.kv.put(KV.orderFetches, pending);
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

  private async recordAttempt(stream: string, event: Awaited<ReturnType<typeof pendingEventsOf>>[number], attempt: DeliveryAttempt, now: number): Promise<void> {
    const db = this.db;
    const instance = event.instanceId ? await this.load(event.instanceId) : undefined;
    const awaitingSeller =
      event.type === "instance.created" &&
      instance !== undefined &&
      !event.isTest &&
      this.settings.provisioning.mode === "webhook" &&
      instance.provisionedAt === null &&
      (instance.status === "provisioning" || instance.status === "frozen");
    const status = attempt.kind === "answered" ? attempt.status : 0;
    if (awaitingSeller && instance) {
      const answer = readProvisioningAnswer(attempt);
      switch (answer.kind) {
        case "provisioned":
          await this.finishProvisioning(instance, answer.body, now, [outboxStatements.markDelivered(db, event.seq, status, now)], "provisionedByWebhook");
          return;
        case "accepted":
          await db.batch([outboxStatements.markDelivered(db, event.seq, status, now)]);
          return;
        case "refused":
          await this.failInstance(instance, answer.resultCode, answer.message, now, [outboxStatements.markDelivered(db, event.seq, status, now)]);
          return;
        case "retry":
          return this.recordFailure(stream, event, attempt, answer.reason, now, instance);
      }
    }
    if (attempt.kind === "answered" && status >= 200 && status < 300) {
      await db.batch([outboxStatements.markDelivered(db, event.seq, status, now)]);
      return;
    }
    return this.recordFailure(stream, event, attempt, describeAttempt(attempt), now, undefined);
  }

  private async recordFailure(
    stream: string,
    event: Awaited<ReturnType<typeof pendingEventsOf>>[number],
    attempt: DeliveryAttempt,
    reason: string,
    now: number,
    awaitingInstance: Instance | undefined,
  ): Promise<void> {
    const db = this.db;
    const attempts = event.attempts + 1;
    const lastStatus = attempt.kind === "answered" ? attempt.status : null;
    const deadline = event.deliverBy ?? event.createdAt + DELIVERY_WINDOW_MS;
    const nextAttemptAt = now + retryDelayMs(attempts);
    log("warn", "webhook.attempt_failed", { stream, eventId: event.id, type: event.type, attempts, reason: reason.slice(0, 200) });
    if (now >= deadline || (event.deliverBy !== null && nextAttemptAt > deadline && awaitingInstance)) {
      const failed = outboxStatements.markFailed(db, event.seq, { attempts, status: lastStatus, error: reason.slice(0, 500) }, now);
      log("error", "webhook.delivery_failed", { stream, eventId: event.id, type: event.type, attempts });
      if (awaitingInstance) {
        await this.failInstance(awaitingInstance, ResultCode.InternalError, "the seller's backend did not provision the purchase within the Marketplace's 3-hour window", now, [failed]);
      } else {
        await db.batch([failed]);
      }
      return;
    }
    await db.batch([outboxStatements.markRetry(db, event.seq, { attempts, nextAttemptAt, status: lastStatus, error: reason.slice(0, 500) }, now)]);
    this.kv.put(KV.deliveryDueAt, nextAttemptAt);
  }
}

const SUCCESS: Outcome = { resultCode: ResultCode.Success, resultMsg: "success" };

function lifecycleEventOf(command: LifecycleCommand, now: number): LifecycleEvent {
  switch (command.event) {
    case "renew":
      return { kind: "renew", extendsIntoFuture: command.expireAt !== undefined && command.expireAt > now };
    case "freeze":
      return { kind: "freeze", reason: command.freezeReason ?? "marketplace" };
    default:
      return { kind: command.event };
  }
}

function newInstanceRow(instanceId: string, command: CreateCommand, envelope: CallEnvelope): Instance {
  const now = envelope.receivedAt;
  return {
    id: instanceId,
    createKey: command.createKey,
    orderId: command.orderId,
    orderLineId: command.orderLineId,
    productId: command.productId,
    skuCode: command.skuCode,
    chargingMode: command.chargingMode,
    periodType: null,
    periodNumber: null,
    quantity: null,
    customerId: null,
    customerName: null,
    orderKnownAt: null,
    status: "provisioning",
    frozenReason: null,
    isTest: envelope.isTest,
    version: 1,
    expireAt: command.expireAt,
    expireSource: command.expireAt === null ? null : "order",
    frontendUrl: null,
    adminUrl: null,
    adminUserName: null,
    adminPasswordSealed: null,
    provisionedAt: null,
    frozenAt: null,
    releasedAt: null,
    failureReason: null,
    failureCode: null,
    memo: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** What the order tells about the purchase; a refreshInstance is newer than any order snapshot, so its expiry wins. */
function withOrderTruth(instance: Instance, truth: OrderTruth, now: number): Instance {
  const takeExpiry = truth.expireAt !== null && instance.expireSource !== "refresh";
  return {
    ...instance,
    productId: truth.productId ?? instance.productId,
    skuCode: truth.skuCode ?? instance.skuCode,
    chargingMode: truth.chargingMode ?? instance.chargingMode,
    periodType: truth.periodType ?? instance.periodType,
    periodNumber: truth.periodNumber ?? instance.periodNumber,
    quantity: truth.quantity ?? instance.quantity,
    customerId: truth.customerId ?? instance.customerId,
    customerName: truth.customerName ?? instance.customerName,
    orderKnownAt: instance.orderKnownAt ?? now,
    ...(takeExpiry ? { expireAt: truth.expireAt, expireSource: "order" as const } : {}),
  };
}

/** The columns that differ: the UPDATE sets only those. */
function changesOf(before: Instance, after: Instance): Partial<Instance> {
  const changes: Partial<Record<keyof Instance, unknown>> = {};
  for (const name of Object.keys(after) as (keyof Instance)[]) {
    if (before[name] !== after[name]) changes[name] = after[name];
  }
  return changes as Partial<Instance>;
}

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

function isD1Error(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  return /D1_|SQLITE_CONSTRAINT|UNIQUE constraint|constraint failed/i.test(text);
}

export function getInstanceActor(env: Env, instanceId: string) {
  return env.INSTANCES.get(env.INSTANCES.idFromName(instanceId));
}
