import type { AcceptedChange } from "../actor/accepted";
import { commitAccepted } from "../actor/accepted";
import type { Acceptance } from "../actor/acceptance";
import { inboxRow } from "../actor/commit";
import { closeWindowIfDue } from "../actor/duties/provisioning-window.duty";
import { type CachedOutcome, type InstanceScope, KV, isD1Error, load, note, reload, schedulePending } from "../actor/instance-scope";
import { log } from "../observability/log";
import { ResultCode } from "../protocol/result-codes";
import type { CallEnvelope, InstanceCommand, LifecycleCommand, Outcome } from "./commands";
import { planChange } from "./lifecycle";
import { createCall, recorded, repeatOutcome } from "./purchase-call";

export const NOT_ACCEPTED: Outcome = { resultCode: ResultCode.InternalError, resultMsg: "the gateway could not take this call on in time; nothing changed: send it again" };

/**
 * One Marketplace call inside the actor's queue: a repeat answered from the cache; otherwise the create or the change.
 * A unique-key failure means an earlier life of this actor wrote to D1 and died before caching it: reload, retry once.
 */
export async function applyCall(s: InstanceScope, instanceId: string, envelope: CallEnvelope, command: InstanceCommand, acceptance?: Acceptance<Outcome>): Promise<Outcome> {
  const key = envelope.idempotencyKey;
  if (key && command.kind === "lifecycle") {
    const cached = s.kv.get<CachedOutcome>(KV.answer(key));
    if (cached) return repeatOutcome(cached, envelope);
  }
  try {
    return await execute(s, instanceId, envelope, command, acceptance);
  } catch (error) {
    if (!isD1Error(error)) throw error;
    log("warn", "actor.reload", { instanceId, activity: envelope.activity, reason: String(error) });
    await reload(s, instanceId);
    if (key && command.kind === "lifecycle") {
      const seen = await recorded(s, key);
      if (seen) return repeatOutcome(seen, envelope);
    }
    return execute(s, instanceId, envelope, command, acceptance);
  }
}

function execute(s: InstanceScope, instanceId: string, envelope: CallEnvelope, command: InstanceCommand, acceptance?: Acceptance<Outcome>): Promise<Outcome> {
  switch (command.kind) {
    case "create":
      return createCall(s, instanceId, envelope, command);
    case "lifecycle":
      return changeCall(s, instanceId, envelope, command, acceptance);
    default: {
      const unhandled: never = command;
      throw new Error(`unknown command ${JSON.stringify(unhandled)}`);
    }
  }
}

/** A lifecycle change (src/instances/lifecycle.ts decides): accepted, then written whatever D1 does. */
async function changeCall(s: InstanceScope, instanceId: string, envelope: CallEnvelope, command: LifecycleCommand, acceptance?: Acceptance<Outcome>): Promise<Outcome> {
  const loaded = await load(s, instanceId);
  // A call after the window finds the purchase failed, as the Marketplace has judged it.
  const instance = loaded ? await closeWindowIfDue(s, loaded, envelope.receivedAt) : undefined;
  const plan = planChange(instance, instanceId, envelope, command);
  if (plan.kind === "answer") {
    if (plan.unchanged) note(s, "instance.unchanged", { instanceId, activity: envelope.activity, reason: plan.unchanged });
    return plan.outcome;
  }
  // planChange applies changes to existing instances only; a create never comes this way.
  if (!instance) throw new Error(`planChange applied ${envelope.activity} to no instance`);
  if (acceptance && !acceptance.accept(plan.outcome)) return NOT_ACCEPTED;
  const { next } = plan.change;
  const key = envelope.idempotencyKey ?? `${envelope.activity}:${instanceId}:v${next.version}`;
  const accepted: AcceptedChange = {
    kind: "change",
    from: instance,
    change: plan.change,
    at: envelope.receivedAt,
    inbox: inboxRow(key, envelope, instanceId, plan.outcome),
    ...(envelope.idempotencyKey ? { cache: { key: envelope.idempotencyKey, value: { outcome: plan.outcome, fingerprint: envelope.fingerprint } } } : {}),
  };
  // Accepted: from here on the change is applied whatever D1 does (an upgrade's order fetch is scheduled with it).
  s.kv.put(KV.accepted, accepted);
  if (plan.orderFetch) schedulePending(s, plan.orderFetch);
  await commitAccepted(s, accepted);
  await s.armAlarm();
  note(s, "instance.changed", { instanceId, activity: envelope.activity, from: instance?.status, to: next.status, frozenReason: next.frozenReason });
  return plan.outcome;
}
