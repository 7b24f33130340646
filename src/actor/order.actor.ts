import type { GeneralOrder } from "../db/schema/general-orders";
import { eventRow, outboxStatements } from "../events/outbox";
import { statements } from "../instances/instance.repo";
import { orderFetchDelay } from "../instances/order-fetch";
import { MarketplaceApiError } from "../marketplace-api/errors";
import { type OrderTruth, queryOrder } from "../marketplace-api/order.api";
import { log } from "../observability/log";
import { QUERY_ORDER_FAILING_AFTER, generalOrderFailing, generalOrderSubject } from "../operations/instance-problems";
import { clearProblem, inBackground, reportProblem } from "../operations/problems";
import {
  ORDER_NOTIFY_FETCH_WINDOW_MS,
  type OrderLineKey,
  failedFetchChanges,
  fetchedChanges,
  orderActorName,
  orderInboxKey,
  orderNotifiedEvent,
  orderStream,
  receivedRow,
} from "../orders/general-order";
import { findGeneralOrder, generalOrderStatements } from "../orders/general-order.repo";
import { ResultCode } from "../protocol/result-codes";
import { ALARM_FAILURE_RETRY_MS, getInstanceActor } from "./instance.actor";
import { SerialActor } from "./serial-actor";
import { isSelfCheckData } from "../operations/self-check/marker";

/** A verified, parsed orderNotify as it crosses to the actor: the inbox record is computed by the caller. */
export interface OrderNotifyCall {
  key: OrderLineKey;
  fingerprint: string;
  /** The notification's fields the gateway does not read, personal ones removed: kept with the line. */
  extra: Record<string, unknown>;
  /** What the inbox keeps of the request (no personal fields). */
  requestText: string;
  receivedAt: number;
}

export interface OrderNotifyOutcome {
  resultCode: string;
  resultMsg: string;
  /** False for a repeat: nothing was written (except a resend that reopens a fetch that gave up). */
  recorded: boolean;
}

/** The background query order of a real notification; kept in the actor's storage, driven by its alarm. */
interface PendingFetch {
  key: OrderLineKey;
  attempts: number;
  nextAt: number;
  /** After this, a failed attempt is the last one. */
  until: number;
}

const KV = { order: "order", fetch: "fetch" } as const;

/** The answer of every accepted notification, first or repeated (spec §3.2: 000000 on success). */
const ACCEPTED = { resultCode: ResultCode.Success, resultMsg: "success" } as const;
export const ORDER_NOTIFY_ANSWER = JSON.stringify(ACCEPTED);

/**
 * One actor per notified order line (orderActorName): records the notification once (row + inbox record in one D1
 * batch), answers repeats from that record, and fetches the order in the background from its alarm, which re-arms
 * for whatever is still pending however it ended. The stored order and its `order.notified` event are one batch.
 */
export class OrderActor extends SerialActor {


  async notify(call: OrderNotifyCall): Promise<OrderNotifyOutcome> {
    return this.serialize(() => this.notifyOnce(call));
  }

  private async notifyOnce(call: OrderNotifyCall): Promise<OrderNotifyOutcome> {
    const known = await this.load(call.key);
    if (known) return this.repeat(known, call.receivedAt);
    const now = call.receivedAt;
    const row = receivedRow(call.key, now, call.extra);
    // A debug notification tells the seller at once (it is never fetched), unless it is the self-check's own.
    const event = row.isTest && !isSelfCheckData(row.isTest, row.orderId) ? eventRow(orderNotifiedEvent(row, now), this.settings.sellerWebhook !== undefined) : undefined;
    // Scheduled before the batch: if we die right after it, the alarm still fetches the order.
    if (!row.isTest) await this.schedule({ key: call.key, attempts: 0, nextAt: now, until: now + ORDER_NOTIFY_FETCH_WINDOW_MS });
    try {
      await this.db.batch([
        generalOrderStatements.insert(this.db, row),
        statements.insertInbox(this.db, {
          idempotencyKey: orderInboxKey(call.key),
          fingerprint: call.fingerprint,
          interface: "order-notify",
          activity: "orderNotify",
          instanceId: null,
          isTest: call.key.isTest,
          request: call.requestText,
          resultCode: ACCEPTED.resultCode,
          answer: ORDER_NOTIFY_ANSWER,
          receivedAt: now,
        }),
        ...(event ? [outboxStatements.insertEvent(this.db, event)] : []),
      ]);
    } catch (error) {
      // A unique key: an earlier life of this actor wrote the row and died before caching it. Answer from D1.
      const written = await findGeneralOrder(this.db, call.key);
      if (!written) {
        this.kv.delete(KV.fetch);
        throw error;
      }
      this.kv.put(KV.order, written);
      return this.repeat(written, now);
    }
    this.kv.put(KV.order, row);
    log("info", "order.notified", { orderId: row.orderId, orderLineId: row.orderLineId, isTest: row.isTest });
    if (event?.deliveryState === "pending") await this.kickDelivery(row.orderId);
    return { ...ACCEPTED, recorded: true };
  }

  /**
   * A repeat (the Marketplace retries for 3 hours) changes nothing and emits nothing. One exception: a real order whose
   * fetch gave up; a resend (the seller's "重新启动" in the seller center, spec §4) is the way to try again, so it
   * reopens the fetch for another window.
   */
  private async repeat(row: GeneralOrder, now: number): Promise<OrderNotifyOutcome> {
    if (row.isTest || row.state !== "fetch_failed") return { ...ACCEPTED, recorded: false };
    const key = keyOf(row);
    const changes = { state: "received" as const, nextFetchAt: now, updatedAt: now };
    await this.schedule({ key, attempts: row.fetchAttempts, nextAt: now, until: now + ORDER_NOTIFY_FETCH_WINDOW_MS });
    await this.db.batch([generalOrderStatements.reopen(this.db, key, changes)]);
    this.kv.put(KV.order, { ...row, ...changes });
    log("info", "order.fetch_reopened", { orderId: row.orderId, orderLineId: row.orderLineId, attempts: row.fetchAttempts });
    return { ...ACCEPTED, recorded: true };
  }

  /** The line as this actor last wrote it, or as D1 has it when this actor has no copy yet. */
  private async load(key: OrderLineKey): Promise<GeneralOrder | undefined> {
    const cached = this.kv.get<GeneralOrder>(KV.order);
    if (cached) return cached;
    const stored = await findGeneralOrder(this.db, key);
    if (stored) this.kv.put(KV.order, stored);
    return stored;
  }

  private async schedule(pending: PendingFetch): Promise<void> {
    this.kv.put(KV.fetch, pending);
    await this.armAlarm();
  }

  private async armAlarm(notBefore = 0): Promise<void> {
    const pending = this.kv.get<PendingFetch>(KV.fetch);
    if (!pending) return;
    const due = Math.max(pending.nextAt, notBefore);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(due);
  }

  override async alarm(): Promise<void> {
    let notBefore = 0;
    try {
      await this.serialize(() => this.fetchDue());
    } catch (error) {
      // Re-armed at its own (overdue) time the alarm would fire at once and call query order in a tight loop.
      notBefore = Date.now() + ALARM_FAILURE_RETRY_MS;
      log("error", "order_actor.alarm_failed", { error: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      // Whatever failed above, a pending fetch keeps its alarm (the platform's own alarm retries are few).
      await this.armAlarm(notBefore);
    }
  }

  private async fetchDue(): Promise<void> {
    const pending = this.kv.get<PendingFetch>(KV.fetch);
    if (!pending) return;
    // From D1 when not cached: the notification's batch may have committed just before this actor died.
    const row = await this.load(pending.key);
    if (!row || row.state !== "received" || row.isTest) {
      // Nothing to fetch for: the notification that scheduled it never committed, or the order is already stored.
      this.kv.delete(KV.fetch);
      return;
    }
    const now = Date.now();
    if (pending.nextAt <= now) await this.fetchOrder(row, pending, now);
  }

  private async fetchOrder(row: GeneralOrder, pending: PendingFetch, now: number): Promise<void> {
    const key = keyOf(row);
    const attempts = pending.attempts + 1;
    let truth: OrderTruth;
    try {
      truth = await queryOrder(this.settings.marketplace, row.orderId, row.orderLineId, new Date(now));
    } catch (error) {
      const retryable = error instanceof MarketplaceApiError ? error.retryable : true;
      const giveUp = !retryable || now >= pending.until;
      const message = error instanceof Error ? error.message : String(error);
      const nextAt = giveUp ? null : now + orderFetchDelay(attempts);
      log(giveUp ? "error" : "warn", "order.fetch_failed", { orderId: row.orderId, orderLineId: row.orderLineId, attempts, retryable, giveUp, error: message });
      if (attempts >= QUERY_ORDER_FAILING_AFTER) {
        const report = generalOrderFailing(row.orderId, row.orderLineId, attempts, message, giveUp);
        inBackground((promise) => this.ctx.waitUntil(promise), () => reportProblem(this.env, report, now));
      }
      const changes = failedFetchChanges(attempts, message, nextAt, now);
      await this.db.batch([generalOrderStatements.updateReceived(this.db, key, changes)]);
      this.kv.put(KV.order, { ...row, ...changes });
      if (nextAt === null) this.kv.delete(KV.fetch);
      else this.kv.put(KV.fetch, { ...pending, attempts, nextAt });
      return;
    }
    const changes = await fetchedChanges(this.settings, truth, row.orderLineId, attempts, now);
    const fetched: GeneralOrder = { ...row, ...changes };
    const event = eventRow(orderNotifiedEvent(fetched, now), this.settings.sellerWebhook !== undefined);
    try {
      // The stored order and its event: one batch, so the seller never hears of an order we did not keep, nor the reverse.
      await this.db.batch([generalOrderStatements.updateReceived(this.db, key, changes), outboxStatements.insertEvent(this.db, event)]);
    } catch (error) {
      // The event's id is unique per line: an earlier life of this actor committed this batch and died before caching
      // it. D1 has the order; nothing is written twice.
      const stored = await findGeneralOrder(this.db, key);
      if (!stored || stored.state === "received") throw error;
      this.ctx.storage.transactionSync(() => {
        this.kv.put(KV.order, stored);
        this.kv.delete(KV.fetch);
      });
      log("warn", "order.fetch_already_stored", { orderId: row.orderId, orderLineId: row.orderLineId, state: stored.state });
      return;
    }
    this.ctx.storage.transactionSync(() => {
      this.kv.put(KV.order, fetched);
      this.kv.delete(KV.fetch);
    });
    log("info", "order.fetched", { orderId: row.orderId, orderLineId: row.orderLineId, attempts, chargingMode: fetched.chargingMode });
    if (attempts > QUERY_ORDER_FAILING_AFTER) {
      const subject = generalOrderSubject(row.orderId, row.orderLineId);
      inBackground((promise) => this.ctx.waitUntil(promise), () => clearProblem(this.env, "query_order.failing", subject, now));
    }
    if (event.deliveryState === "pending") await this.kickDelivery(row.orderId);
  }

  /**
   * Delivery runs in the stream's InstanceActor, which delivers any stream in order, as the cron sweep wakes it. A
   * failed kick loses nothing: the event is stored pending and the sweep (delivery-sweep.job.ts) finds it overdue.
   */
  private async kickDelivery(orderId: string): Promise<void> {
    const stream = orderStream(orderId);
    try {
      await getInstanceActor(this.env, stream).kick(stream);
    } catch (error) {
      log("warn", "order.kick_failed", { stream, error: error instanceof Error ? error.message : String(error) });
    }
  }
}

function keyOf(row: GeneralOrder): OrderLineKey {
  return { orderId: row.orderId, orderLineId: row.orderLineId, isTest: row.isTest };
}

/** The only way to an order line's actor. */
export function getOrderActor(env: Env, key: OrderLineKey) {
  return env.ORDERS.get(env.ORDERS.idFromName(orderActorName(key)));
}
