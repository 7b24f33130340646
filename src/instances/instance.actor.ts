import { DurableObject } from "cloudflare:workers";
import { sealSecret } from "../crypto/data-key";
import { type Db, getDb } from "../db/client";
import type { Instance } from "../db/schema/instances";
import { getSettings } from "../env";
import { type KitAnswer, type KitSyncCall, applyKitSync } from "../kit/kit-sync";
import { MarketplaceApiError } from "../marketplace-api/errors";
import { type OrderTruth, queryOrder } from "../marketplace-api/order.api";
import { log } from "../observability/log";
import { ResultCode } from "../protocol/result-codes";
import { type AnswerContext, answerContext, answerText } from "./answers";
import type { AppInfo, CallEnvelope, CreateCommand, InstanceCommand, LifecycleCommand, Outcome } from "./commands";
import { type AuditHead, findAuditHead, findInboxEntry, findInstance, nextAuditRow, statements } from "./instance.repo";
import type { IssuedTenant } from "./provisioning/adapter";
import { selectProvisioningAdapter } from "./provisioning/select";
import { transition } from "./state-machine";

/** The exact answer bytes and their code. */
export interface ActorAnswer {
  text: string;
  resultCode: string;
}

interface CachedAnswer extends ActorAnswer {
  fingerprint: string;
}

interface PendingOrderFetch {
  orderId: string;
  orderLineId: string | null;
  activity: string;
  attempts: number;
  nextAt: number;
}

/** Retry schedule of the background query order: quick at first, then every 15 minutes for about half a day. */
export const ORDER_FETCH_BACKOFF_MS = [5_000, 15_000, 45_000, 120_000, 300_000, 600_000] as const;
export const ORDER_FETCH_MAX_ATTEMPTS = 50;
const ORDER_FETCH_STEADY_MS = 900_000;

export function orderFetchDelay(attempts: number): number {
  return ORDER_FETCH_BACKOFF_MS[attempts - 1] ?? ORDER_FETCH_STEADY_MS;
}

const KV = {
  instance: "instance",
  auditHead: "auditHead",
  orderFetches: "orderFetches",
  answer: (key: string) => `answer:${key}`,
} as const;

/**
 * One actor per instance id. Every change to the instance happens here, one call at a time; D1 is the record,
 * this object's own storage is a cache of what it wrote there (instance row, audit head, answers), so repeats and
 * the next change need no D1 read. Whenever the cache could be stale (a crash between the D1 batch and the cache
 * write), the batch fails on a unique key and the actor reloads from D1.
 */
export class InstanceActor extends DurableObject<Env> {
  private tail: Promise<unknown> = Promise.resolve();

  /** A promise chain, not blockConcurrencyWhile: the query-order fetch may await the network without the lock. */
  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private get db(): Db {
    return getDb(this.env);
  }

  private get kv(): SyncKvStorage {
    return this.ctx.storage.kv;
  }

  async apply(instanceId: string, envelope: CallEnvelope, command: InstanceCommand): Promise<ActorAnswer> {
    return this.serialize(async () => {
      const key = envelope.idempotencyKey;
      if (key) {
        const cached = this.kv.get<CachedAnswer>(KV.answer(key));
        if (cached) return repeatAnswer(cached, envelope, answerContext(getSettings(this.env), envelope.dialect));
      }
      try {
        return await this.execute(instanceId, envelope, command);
      } catch (error) {
        if (!isD1Error(error)) throw error;
        // The batch hit a unique key: an earlier life of this actor wrote to D1 and died before caching it.
        log("warn", "actor.reload", { instanceId, activity: envelope.activity, reason: String(error) });
        await this.reload(instanceId);
        if (key) {
          const entry = await findInboxEntry(this.db, key);
          if (entry) {
            const cached = { text: entry.answer, resultCode: entry.resultCode, fingerprint: entry.fingerprint };
            this.kv.put(KV.answer(key), cached);
            return repeatAnswer(cached, envelope, answerContext(getSettings(this.env), envelope.dialect));
          }
        }
        return this.execute(instanceId, envelope, command);
      }
    });
  }

  private execute(instanceId: string, envelope: CallEnvelope, command: InstanceCommand): Promise<ActorAnswer> {
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

  private async create(instanceId: string, envelope: CallEnvelope, command: CreateCommand): Promise<ActorAnswer> {
    const existing = this.kv.get<Instance>(KV.instance);
    if (existing) {
      // Reached by a create whose answer is not cached under this key (another dialect's key for the same order).
      return { text: answerText(answerContext(getSettings(this.env), envelope.dialect), ok(existing.id)), resultCode: ResultCode.Success };
    }
    const settings = getSettings(this.env);
    const now = envelope.receivedAt;
    const adapter = selectProvisioningAdapter(settings);
    const result = await adapter.provision(
      { instanceId, orderId: command.orderId, orderLineId: command.orderLineId, isTest: envelope.isTest },
      now,
    );
    const tenant = result.state === "done" ? result.tenant : undefined;
    const row: Instance = {
      id: instanceId,
      createKey: command.createKey,
      orderId: command.orderId,
      orderLineId: command.orderLineId,
      productId: command.productId,
      skuCode: command.skuCode,
      chargingMode: command.chargingMode,
      status: result.state === "done" ? "active" : result.state === "failed" ? "failed" : "provisioning",
      isTest: envelope.isTest,
      version: 1,
      expireAt: command.expireAt,
      expireSource: command.expireAt === null ? null : "order",
      frontendUrl: tenant?.frontendUrl ?? null,
      adminUrl: tenant?.adminUrl ?? null,
      adminUserName: tenant?.adminUserName ?? null,
      adminPasswordSealed: tenant ? await sealSecret(settings.dataKey, tenant.adminPassword) : null,
      provisionedAt: tenant ? now : null,
      frozenAt: null,
      releasedAt: null,
      failureReason: result.state === "failed" ? result.reason : null,
      createdAt: now,
      updatedAt: now,
    };
    const outcome: Outcome =
      result.state === "done"
        ? { ...ok(instanceId), appInfo: appInfoOf(result.tenant) }
        : result.state === "pending"
          ? { resultCode: ResultCode.Processing, resultMsg: "provisioning", instanceId }
          : { resultCode: ResultCode.ProductInternalError, resultMsg: "provisioning failed", instanceId };
    const text = answerText(answerContext(getSettings(this.env), envelope.dialect), outcome);
    const audit = nextAuditRow(undefined, {
      instanceId,
      at: now,
      event: envelope.activity,
      fromStatus: null,
      toStatus: row.status,
      detail: { orderId: command.orderId, orderLineId: command.orderLineId, isTest: envelope.isTest, adapter: adapter.name },
    });
    // Scheduled before the batch: if we die after it, the alarm still fetches the order; if the batch fails, the
    // alarm finds nothing to do.
    if (!envelope.isTest) await this.scheduleOrderFetch(command.orderId, command.orderLineId, envelope.activity, now);
    const key = envelope.idempotencyKey ?? command.createKey;
    const db = this.db;
    await db.batch([
      statements.insertInstance(db, row),
      statements.insertInbox(db, inboxRow(key, envelope, instanceId, outcome.resultCode, text)),
      statements.insertAudit(db, audit),
    ]);
    this.remember(row, audit, key, { text, resultCode: outcome.resultCode, fingerprint: envelope.fingerprint });
    log("info", "instance.created", { instanceId, status: row.status, isTest: row.isTest });
    return { text, resultCode: outcome.resultCode };
  }

  private async change(instanceId: string, envelope: CallEnvelope, command: LifecycleCommand): Promise<ActorAnswer> {
    const instance = await this.load(instanceId);
    const answer = (outcome: Outcome): ActorAnswer => ({ text: answerText(answerContext(getSettings(this.env), envelope.dialect), outcome), resultCode: outcome.resultCode });
    if (!instance) {
      // Saved debug cases replay in any order forever (spec README point 11): never fail them for a missing instance.
      return answer(
        envelope.isTest
          ? { resultCode: ResultCode.Success, resultMsg: "debug call for an unknown instance: nothing changed" }
          : { resultCode: ResultCode.InstanceNotFound, resultMsg: `instance ${instanceId} does not exist` },
      );
    }
    if (envelope.isTest && !instance.isTest) {
      return answer({ resultCode: ResultCode.Success, resultMsg: "debug call: a real instance is not touched" });
    }
    const verdict = transition(instance.status, command.event, instance.provisionedAt !== null);
    if (verdict.type === "reject") {
      return answer({ resultCode: verdict.code, resultMsg: `${verdict.message} (instance ${instanceId})` });
    }
    if (verdict.type === "noop") {
      // Same bytes as the answer that applied it: the debugger and the retry rules expect a repeat to read the same.
      log("info", "instance.unchanged", { instanceId, activity: envelope.activity, reason: verdict.reason });
      return answer({ resultCode: ResultCode.Success, resultMsg: "success" });
    }

    const now = envelope.receivedAt;
    const changes: Partial<Instance> = { status: verdict.to, version: instance.version + 1, updatedAt: now };
    switch (command.event.kind) {
      case "renew":
        if (command.expireAt !== undefined) Object.assign(changes, { expireAt: command.expireAt, expireSource: "refresh" });
        if (command.productId) changes.productId = command.productId;
        break;
      case "freeze":
        changes.frozenAt = now;
        break;
      case "unfreeze":
        changes.frozenAt = null;
        break;
      case "release":
        changes.releasedAt = now;
        break;
      case "upgrade":
      case "checkChange":
        break;
    }
    const next: Instance = { ...instance, ...changes };
    const outcome: Outcome = { resultCode: ResultCode.Success, resultMsg: "success" };
    const text = answerText(answerContext(getSettings(this.env), envelope.dialect), outcome);
    const audit = nextAuditRow(this.auditHead(), {
      instanceId,
      at: now,
      event: envelope.activity,
      fromStatus: instance.status,
      toStatus: next.status,
      detail: {
        ...(command.scene ? { scene: command.scene } : {}),
        ...(command.orderId ? { orderId: command.orderId } : {}),
        ...(command.expireAt !== undefined ? { expireAt: command.expireAt } : {}),
        ...(command.reason ? { reason: command.reason } : {}),
        isTest: envelope.isTest,
      },
    });
    if (command.event.kind === "upgrade" && command.orderId && !envelope.isTest) {
      await this.scheduleOrderFetch(command.orderId, command.orderLineId ?? null, envelope.activity, now);
    }
    const key = envelope.idempotencyKey ?? `${envelope.activity}:${instanceId}:v${next.version}`;
    const db = this.db;
    await db.batch([
      statements.updateInstance(db, instanceId, instance.version, changes),
      statements.insertInbox(db, inboxRow(key, envelope, instanceId, outcome.resultCode, text)),
      statements.insertAudit(db, audit),
    ]);
    this.remember(next, audit, envelope.idempotencyKey, { text, resultCode: outcome.resultCode, fingerprint: envelope.fingerprint });
    log("info", "instance.changed", { instanceId, activity: envelope.activity, from: instance.status, to: next.status });
    return { text, resultCode: outcome.resultCode };
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

  private remember(instance: Instance, head: AuditHead, key: string | null, answer: CachedAnswer): void {
    this.ctx.storage.transactionSync(() => {
      this.kv.put(KV.instance, instance);
      this.kv.put(KV.auditHead, { seq: head.seq, hash: head.hash });
      if (key) this.kv.put(KV.answer(key), answer);
    });
  }

  // ---- order truth, fetched in the background -------------------------------------------------------------

  private async scheduleOrderFetch(orderId: string, orderLineId: string | null, activity: string, now: number) {
    const pending = this.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? [];
    if (!pending.some((p) => p.orderId === orderId && p.orderLineId === orderLineId)) {
      pending.push({ orderId, orderLineId, activity, attempts: 0, nextAt: now });
      this.kv.put(KV.orderFetches, pending);
    }
    await this.armAlarm();
  }

  private async armAlarm(): Promise<void> {
    const pending = this.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? [];
    if (pending.length === 0) return;
    const due = Math.min(...pending.map((p) => p.nextAt));
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(due);
  }

  override async alarm(): Promise<void> {
    const instance = this.kv.get<Instance>(KV.instance);
    const pending = this.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? [];
    if (!instance) {
      // The create that scheduled this never committed; nothing to fetch for.
      if (pending.length > 0) this.kv.delete(KV.orderFetches);
      return;
    }
    const now = Date.now();
    for (const item of pending.filter((p) => p.nextAt <= now)) {
      await this.fetchOrder(instance.id, item, now);
    }
    await this.armAlarm();
  }

  private async fetchOrder(instanceId: string, item: PendingOrderFetch, now: number): Promise<void> {
    const settings = getSettings(this.env);
    let truth: OrderTruth;
    try {
      truth = await queryOrder(settings.marketplace, item.orderId, item.orderLineId, new Date(now));
    } catch (error) {
      const retryable = error instanceof MarketplaceApiError ? error.retryable : true;
      const attempts = item.attempts + 1;
      const giveUp = !retryable || attempts >= ORDER_FETCH_MAX_ATTEMPTS;
      const message = error instanceof Error ? error.message : String(error);
      log(giveUp ? "error" : "warn", "order.fetch_failed", { instanceId, orderId: item.orderId, attempts, retryable, error: message });
      await this.serialize(async () => {
        const db = this.db;
        await statements.upsertOrder(db, {
          ...emptyOrderRow(instanceId, item, now),
          fetchState: giveUp ? "failed" : "pending",
          fetchAttempts: attempts,
          nextFetchAt: giveUp ? null : now + orderFetchDelay(attempts),
          lastError: message.slice(0, 500),
        });
        this.updatePending(item, giveUp ? null : { ...item, attempts, nextAt: now + orderFetchDelay(attempts) });
      });
      return;
    }
    await this.serialize(() => this.applyOrderTruth(instanceId, item, truth, now));
  }

  private async applyOrderTruth(instanceId: string, item: PendingOrderFetch, truth: OrderTruth, now: number) {
    const instance = await this.load(instanceId);
    if (!instance) return;
    const db = this.db;
    const orderRow = {
      ...emptyOrderRow(instanceId, item, now),
      fetchState: "fetched" as const,
      fetchAttempts: item.attempts + 1,
      orderType: truth.orderType,
      productId: truth.productId,
      skuCode: truth.skuCode,
      chargingMode: truth.chargingMode,
      periodType: truth.periodType,
      periodNumber: truth.periodNumber,
      expireAt: truth.expireAt,
      customerId: truth.customerId,
      customerName: truth.customerName,
      snapshot: truth.snapshot,
      fetchedAt: now,
    };
    // A refreshInstance is newer than any order snapshot: its expiry wins.
    const takeExpiry = truth.expireAt !== null && instance.expireSource !== "refresh";
    const changes: Partial<Instance> = {
      productId: truth.productId ?? instance.productId,
      skuCode: truth.skuCode ?? instance.skuCode,
      chargingMode: truth.chargingMode ?? instance.chargingMode,
      ...(takeExpiry ? { expireAt: truth.expireAt, expireSource: "order" as const } : {}),
      version: instance.version + 1,
      updatedAt: now,
    };
    const next: Instance = { ...instance, ...changes };
    const audit = nextAuditRow(this.auditHead(), {
      instanceId,
      at: now,
      event: "orderFetched",
      fromStatus: instance.status,
      toStatus: instance.status,
      detail: { orderId: item.orderId, orderType: truth.orderType, chargingMode: truth.chargingMode, expireAt: next.expireAt },
    });
    await db.batch([
      statements.upsertOrder(db, orderRow),
      statements.updateInstance(db, instanceId, instance.version, changes),
      statements.insertAudit(db, audit),
    ]);
    this.ctx.storage.transactionSync(() => {
      this.kv.put(KV.instance, next);
      this.kv.put(KV.auditHead, { seq: audit.seq, hash: audit.hash });
      this.updatePending(item, null);
    });
  }

  private updatePending(item: PendingOrderFetch, replacement: PendingOrderFetch | null): void {
    const pending = (this.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? []).filter(
      (p) => !(p.orderId === item.orderId && p.orderLineId === item.orderLineId),
    );
    if (replacement) pending.push(replacement);
    if (pending.length === 0) this.kv.delete(KV.orderFetches);
    else this.kv.put(KV.orderFetches, pending);
  }

  // ---- joint-operation kit -----------------------------------------------------------------------------------------

  /**
   * Kit syncs for this instance (or, for the seller's own calls without one, for the tenant this actor is named
   * after: kitActorName) queue behind every other change here, so two syncs of one tenant never interleave.
   */
  async kitSync(call: KitSyncCall): Promise<KitAnswer> {
    return this.serialize(() => applyKitSync(this.env, call));
  }
}

function appInfoOf(tenant: IssuedTenant): AppInfo {
  return {
    frontEndUrl: tenant.frontendUrl,
    ...(tenant.adminUrl ? { adminUrl: tenant.adminUrl } : {}),
    userName: tenant.adminUserName,
    password: tenant.adminPassword,
  };
}

function ok(instanceId: string): Outcome {
  return { resultCode: ResultCode.Success, resultMsg: "success", instanceId };
}

function repeatAnswer(cached: CachedAnswer, envelope: CallEnvelope, context: AnswerContext): ActorAnswer {
  if (cached.fingerprint === envelope.fingerprint) return { text: cached.text, resultCode: cached.resultCode };
  const text = answerText(context, {
    resultCode: ResultCode.InvalidParameter,
    resultMsg: `${envelope.activity}: this idempotency key was already used with different parameters`,
  });
  return { text, resultCode: ResultCode.InvalidParameter };
}

function inboxRow(key: string, envelope: CallEnvelope, instanceId: string, resultCode: string, answer: string) {
  return {
    idempotencyKey: key,
    fingerprint: envelope.fingerprint,
    interface: envelope.dialect,
    activity: envelope.activity,
    instanceId,
    isTest: envelope.isTest,
    request: envelope.requestText,
    resultCode,
    answer,
    receivedAt: envelope.receivedAt,
  };
}

function emptyOrderRow(instanceId: string, item: PendingOrderFetch, now: number) {
  return {
    orderId: item.orderId,
    orderLineId: item.orderLineId ?? "",
    instanceId,
    activity: item.activity,
    fetchState: "pending" as const,
    fetchAttempts: item.attempts,
    nextFetchAt: null,
    lastError: null,
    orderType: null,
    productId: null,
    skuCode: null,
    chargingMode: null,
    periodType: null,
    periodNumber: null,
    expireAt: null,
    customerId: null,
    customerName: null,
    snapshot: null,
    fetchedAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

function isD1Error(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  return /D1_|SQLITE_CONSTRAINT|UNIQUE constraint|constraint failed/i.test(text);
}

export function getInstanceActor(env: Env, instanceId: string) {
  return env.INSTANCES.get(env.INSTANCES.idFromName(instanceId));
}
