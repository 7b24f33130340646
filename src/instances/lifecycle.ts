import type { Instance } from "../db/schema/instances";
import type { EventDraft } from "../events/outbox";
import { ResultCode } from "../protocol/result-codes";
import type { CallEnvelope, LifecycleCommand, Outcome } from "./commands";
import type { InstanceChange } from "./instance-change";
import { instanceEvent } from "./instance-events";
import { type PendingOrderFetch, recordFetchOf } from "./order-fetch";
import { type LifecycleEvent, transition } from "./state-machine";

export const SUCCESS: Outcome = { resultCode: ResultCode.Success, resultMsg: "success" };

/** What a lifecycle call does to an instance: answer without a change, or apply one (and maybe fetch an order). */
export type ChangePlan =
  | { kind: "answer"; outcome: Outcome; unchanged?: string }
  | { kind: "apply"; change: InstanceChange; outcome: Outcome; orderFetch?: PendingOrderFetch };

/**
 * The whole decision of a renew, freeze, unfreeze, release, upgrade or change check (docs/lifecycle-rules.md): debug
 * and real never act on each other, the state machine decides, and every applied change names the events the seller
 * gets. Pure: the actor commits what it returns.
 */
export function planChange(instance: Instance | undefined, instanceId: string, envelope: CallEnvelope, command: LifecycleCommand): ChangePlan {
  if (!instance) {
    // Saved debug cases replay in any order forever (spec §8): never fail them for a missing instance.
    return envelope.isTest
      ? { kind: "answer", outcome: { resultCode: ResultCode.Success, resultMsg: "debug call for an unknown instance: nothing changed" } }
      : { kind: "answer", outcome: { resultCode: ResultCode.InstanceNotFound, resultMsg: `instance ${instanceId} does not exist` } };
  }
  if (envelope.isTest && !instance.isTest) return { kind: "answer", outcome: { resultCode: ResultCode.Success, resultMsg: "debug call: a real instance is not touched" } };
  // A debug instance is no purchase: a real call never acts on it.
  if (!envelope.isTest && instance.isTest) return { kind: "answer", outcome: { resultCode: ResultCode.InstanceNotFound, resultMsg: `instance ${instanceId} does not exist` } };

  const now = envelope.receivedAt;
  const event = lifecycleEventOf(command, now);
  const verdict = transition({ status: instance.status, frozenReason: instance.frozenReason, provisioned: instance.provisionedAt !== null }, event);
  if (verdict.type === "reject") {
    // The platform replays saved debug cases twice a day, in any order, after their release too (spec §8, §9).
    if (envelope.isTest) return { kind: "answer", outcome: SUCCESS };
    return { kind: "answer", outcome: { resultCode: verdict.code, resultMsg: `${verdict.message} (instance ${instanceId})` } };
  }
  // Same bytes as the answer that applied it: the debugger and the retry rules expect a repeat to read the same.
  if (verdict.type === "noop") return { kind: "answer", outcome: SUCCESS, unchanged: verdict.reason };

  const next: Instance = { ...instance, status: verdict.to, frozenReason: verdict.frozenReason, version: instance.version + 1, updatedAt: now };
  const liftedFreeze = instance.status === "frozen" && next.status !== "frozen";
  const events: EventDraft[] = [];
  let orderFetch: PendingOrderFetch | undefined;
  switch (event.kind) {
    case "renew":
      if (command.expireAt !== undefined) Object.assign(next, { expireAt: command.expireAt, expireSource: "refresh" });
      if (command.productId) next.productId = command.productId;
      if (liftedFreeze) next.frozenAt = null;
      events.push(instanceEvent("instance.renewed", next, now, { scene: command.scene ?? null }));
      if (liftedFreeze) events.push(instanceEvent("instance.unfrozen", next, now, { reason: "renewed" }));
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
        // instance.upgraded follows once the new order is known (orderArrived).
        orderFetch = { orderId: command.orderId, orderLineId: command.orderLineId ?? null, productId: command.productId ?? null, purpose: "upgrade", activity: envelope.activity, attempts: 0, nextAt: now };
      }
      break;
    case "checkChange":
      break;
  }
  orderFetch ??= recordFetchOf(envelope, command, instance.orderId);
  const change: InstanceChange = {
    next,
    events,
    auditEvent: envelope.activity,
    auditDetail: {
      ...(command.scene ? { scene: command.scene } : {}),
      ...(command.orderId ? { orderId: command.orderId } : {}),
      ...(command.expireAt !== undefined ? { expireAt: command.expireAt } : {}),
      ...(command.reason ? { reason: command.reason } : {}),
      ...(next.frozenReason ? { frozenReason: next.frozenReason } : {}),
      isTest: envelope.isTest,
    },
  };
  return { kind: "apply", change, outcome: SUCCESS, ...(orderFetch ? { orderFetch } : {}) };
}

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
