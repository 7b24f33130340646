import { eq } from "drizzle-orm";
import { getInstanceActor } from "../actor/instance.actor";
import type { Db } from "../db/client";
import { type InboxEntry, inbox } from "../db/schema/instances";
import { type CallEnvelope, type Dialect, type Outcome, createCommandOf } from "../instances/commands";
import { findInstance } from "../instances/instance.repo";
import { ResultCode } from "../protocol/result-codes";
import type { ReplayAnswer } from "./admin-api.schema";
import { AdminApiError } from "./admin-route";

const CREATES: Readonly<Record<string, Dialect>> = { "v2:newInstance": "v2", "v1:newInstance": "v1" };

/**
 * Runs a stored callback again, idempotently. The inbox row is written in the batch of the callback's effect, so a
 * row means its effect happened: its answer comes back byte for byte. The one unfinished case is a purchase answered
 * 000004 (waiting for its order or for the seller's backend): that newInstance goes through the actor again, which
 * answers from where the purchase is now, or, for a failed purchase, provisions it again as a Marketplace retry would.
 */
export async function replayInboxEntry(env: Env, db: Db, instanceId: string, inboxId: number, now: number): Promise<ReplayAnswer> {
  const entry = await db.select().from(inbox).where(eq(inbox.id, inboxId)).get();
  if (!entry || entry.instanceId !== instanceId) throw new AdminApiError(404, `inbox entry ${inboxId} of instance ${instanceId} does not exist`);
  const recorded: ReplayAnswer = {
    inboxId: entry.id,
    instanceId,
    interface: entry.interface,
    activity: entry.activity,
    source: "recorded",
    resultCode: entry.resultCode,
    answer: entry.answer,
  };
  const dialect = CREATES[`${entry.interface}:${entry.activity}`];
  if (entry.resultCode !== ResultCode.Processing || dialect === undefined) return recorded;
  const instance = await findInstance(db, instanceId);
  if (!instance) return recorded;
  const command = createCommandOf(instance);
  const { outcome } = await getInstanceActor(env, instanceId).apply(instanceId, envelopeOf(entry, dialect, now), command);
  return { ...recorded, source: "applied", resultCode: outcome.resultCode, answer: JSON.stringify(withoutAppInfo(outcome)) };
}

/** The stored call as the actor first saw it: same key and fingerprint, so the actor knows it for a repeat. */
function envelopeOf(entry: InboxEntry, dialect: Dialect, now: number): CallEnvelope {
  return {
    dialect,
    activity: entry.activity,
    idempotencyKey: entry.idempotencyKey,
    fingerprint: entry.fingerprint,
    requestText: entry.request,
    isTest: entry.isTest,
    receivedAt: now,
    by: "admin",
  };
}

/** The buyer's password never leaves through the admin API. */
function withoutAppInfo(outcome: Outcome): Outcome {
  const { appInfo: _appInfo, ...rest } = outcome;
  return rest;
}
