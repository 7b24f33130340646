import type { BatchItem } from "drizzle-orm/batch";
import type { EventType } from "../db/schema/events";
import { inbox } from "../db/schema/instances";
import type { LicenseCodeOrder, LicenseCodeRow } from "../db/schema/license-codes";
import { orderFetchDelay, shouldGiveUp } from "../instances/order-fetch";
import {
  dueLicenseOrders,
  failedLicenseOrder,
  fetchedLicenseOrder,
  licenseOrderOf,
  licenseOrderStatements,
  nextLicenseOrderFetchAt,
  pendingLicenseOrder,
} from "../license-codes/license-code-orders";
import { MarketplaceApiError } from "../marketplace-api/errors";
import { queryOrder } from "../marketplace-api/order.api";
import { eventRow, outboxStatements } from "../events/outbox";
import { findInboxEntry } from "../instances/instance.repo";
import {
  type ActivationFacts,
  type HeartbeatFacts,
  type LicenseCodeCallback,
  type LicenseCodeView,
  applyActivation,
  applyHeartbeat,
  callFingerprint,
  licenseCodeStream,
  licenseCodeView,
  planCallback,
  refreshKey,
} from "../license-codes/license-code";
import { findLicenseCode, licenseCodeStatements } from "../license-codes/license-code.repo";
import { log } from "../observability/log";
import type { ResultCode } from "../protocol/result-codes";
import { getInstanceActor } from "./instance.actor";
import { SerialActor } from "./serial-actor";
import { isSelfCheckData } from "../operations/self-check/marker";

type Statement = BatchItem<"sqlite">;

/** The code this actor is named after (idFromName keeps no name): its alarm fetches that code's orders. */
const KV_CODE = "code";
/** After an alarm that threw, the next one waits this long, whatever is overdue. */
const ALARM_FAILURE_RETRY_MS = 60_000;

export interface LicenseCallbackEnvelope {
  receivedAt: number;
  /** The inbox's copy of the request (personal fields removed, keyed digest). */
  requestText: string;
}

export interface LicenseCallbackOutcome {
  resultCode: ResultCode;
  resultMsg: string;
}

/**
 * One actor per license code (idFromName(code)): callbacks on POST /license and the edge service's activate and
 * heartbeat for one code run one at a time, each change one D1 batch with its event (and, for callbacks, its inbox
 * record). It keeps no state of its own: D1 is read at the start of each serialised step, so a crash loses nothing.
 * Webhook delivery of its events is the InstanceActor's job, woken by kick() for the code's stream.
 */
export class LicenseCodeActor extends SerialActor {


  async callback(call: LicenseCodeCallback, envelope: LicenseCallbackEnvelope): Promise<LicenseCallbackOutcome> {
    return this.serialize(async () => {
      const db = this.db;
      const now = envelope.receivedAt;
      const [current, applied] = await Promise.all([
        findLicenseCode(db, call.license),
        call.activity === "refreshLicenseCode" ? findInboxEntry(db, refreshKey(call)) : Promise.resolve(undefined),
      ]);
      const plan = planCallback(current, call, { now, unknownCodes: this.settings.licenseUnknownCodes, orderAlreadyApplied: applied !== undefined });
      if (plan.kind === "answer") {
        log("info", "license_code.unchanged", { activity: call.activity, resultCode: plan.resultCode, reason: plan.unchanged ?? plan.resultMsg });
        return { resultCode: plan.resultCode, resultMsg: plan.resultMsg };
      }
      const outcome: LicenseCallbackOutcome = { resultCode: "000000", resultMsg: plan.resultMsg };
      const inboxRow = {
        idempotencyKey: plan.inboxKey,
        fingerprint: callFingerprint(call),
        interface: "license",
        activity: call.activity,
        instanceId: null,
        isTest: call.isTest,
        request: envelope.requestText,
        resultCode: outcome.resultCode,
        answer: JSON.stringify(outcome),
        receivedAt: now,
      };
      const order = licenseOrderOf(call);
      const orderRecord = order ? [licenseOrderStatements.record(db, pendingLicenseOrder(call.license, order, now))] : [];
      await this.commit(current, plan.next, plan.event, now, [db.insert(inbox).values(inboxRow), ...orderRecord]);
      log("info", "license_code.changed", { activity: call.activity, from: current?.status ?? null, to: plan.next.status, event: plan.event });
      // Fetched by the alarm, after the answer: query order never delays a callback.
      if (order) {
        this.kv.put(KV_CODE, call.license);
        await this.armOrderFetch(call.license);
      }
      return outcome;
    });
  }

  /** A successful activation through the edge service; the first one emits license.activated. */
  async activated(code: string, facts: ActivationFacts, now: number): Promise<LicenseCodeView> {
    return this.serialize(async () => {
      const current = await findLicenseCode(this.db, code);
      const { next, first } = applyActivation(current, code, facts, now);
      await this.commit(current, next, first ? "license.activated" : null, now);
      return licenseCodeView(next);
    });
  }

  /** A successful heartbeat: no event (it comes daily), but the record the outage answers are given from. */
  async heartbeat(code: string, facts: HeartbeatFacts, now: number): Promise<LicenseCodeView> {
    return this.serialize(async () => {
      const current = await findLicenseCode(this.db, code);
      const next = applyHeartbeat(current, code, facts, now);
      await this.commit(current, next, null, now);
      return licenseCodeView(next);
    });
  }

  /** A failed Marketplace call, noted on a known code for the operator; unknown codes are not created by failures. */
  async callFailed(code: string, error: string, now: number): Promise<void> {
    await this.serialize(async () => {
      const current = await findLicenseCode(this.db, code);
      if (!current) return;
      await this.commit(current, { ...current, lastCallError: error.slice(0, 500), lastCallErrorAt: now, version: current.version + 1, updatedAt: now }, null, now);
    });
  }

  override async alarm(): Promise<void> {
    const code = this.kv.get<string>(KV_CODE);
    if (!code) return;
    let notBefore = 0;
    try {
      for (const row of await dueLicenseOrders(this.db, code, Date.now())) await this.fetchOrder(row);
    } catch (error) {
      // Re-armed at once, a D1 outage would call query order again in a tight loop.
      notBefore = Date.now() + ALARM_FAILURE_RETRY_MS;
      log("error", "license_code.alarm_failed", { error: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      await this.armOrderFetch(code, notBefore);
    }
  }

  /** Query order for one of the code's orders, with the SaaS orders' backoff and limit (src/instances/order-fetch.ts). */
  private async fetchOrder(row: LicenseCodeOrder): Promise<void> {
    const now = Date.now();
    const attempts = row.fetchAttempts + 1;
    let changes: Partial<LicenseCodeOrder>;
    try {
      const truth = await queryOrder(this.settings.marketplace, row.orderId, row.orderLineId || null, new Date(now));
      changes = fetchedLicenseOrder(truth, attempts, now);
      log("info", "license_code.order_fetched", { orderId: row.orderId, attempts });
    } catch (error) {
      const retryable = error instanceof MarketplaceApiError ? error.retryable : true;
      const giveUp = shouldGiveUp(retryable, attempts);
      const message = error instanceof Error ? error.message : String(error);
      log(giveUp ? "error" : "warn", "license_code.order_fetch_failed", { orderId: row.orderId, attempts, retryable, giveUp, error: message });
      changes = failedLicenseOrder(attempts, message, giveUp ? null : now + orderFetchDelay(attempts), now);
    }
    const update = licenseOrderStatements.update(this.db, row, changes);
    await this.serialize(() => this.db.batch([update]));
  }

  private async armOrderFetch(code: string, notBefore = 0): Promise<void> {
    const next = await nextLicenseOrderFetchAt(this.db, code);
    if (next === undefined) return;
    const due = Math.max(next, notBefore);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(due);
  }

  /** The record and its event in one D1 batch; then the stream's deliverer is woken. */
  private async commit(previous: LicenseCodeRow | undefined, next: LicenseCodeRow, event: EventType | null, now: number, extra: Statement[] = []): Promise<void> {
    const db = this.db;
    const webhook = this.settings.sellerWebhook !== undefined;
    const stream = licenseCodeStream(next.code);
    // The self-check's codes tell nobody (src/operations/self-check/marker.ts).
    const events = event && !isSelfCheckData(next.isTest, next.code)
      ? [outboxStatements.insertEvent(db, eventRow({ type: event, instanceId: null, stream, test: next.isTest, data: licenseCodeView(next), at: now }, webhook))]
      : [];
    await db.batch([licenseCodeStatements.save(db, previous, next), ...extra, ...events]);
    if (events.length > 0 && webhook) {
      // The delivery loop lives in the InstanceActor named after the stream (as for every outbox stream); should this
      // wake-up be lost, the webhook sweep finds the overdue event within a few minutes.
      await getInstanceActor(this.env, stream)
        .kick(stream)
        .catch((error: unknown) => log("warn", "license_code.kick_failed", { stream, error: error instanceof Error ? error.message : String(error) }));
    }
  }
}

export function getLicenseCodeActor(env: Env, code: string) {
  return env.LICENSE_CODES.get(env.LICENSE_CODES.idFromName(code));
}
