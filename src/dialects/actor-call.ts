import { type ActorReply, type LogFacts, getInstanceActor } from "../actor/instance.actor";
import type { Settings } from "../env";
import type { CallEnvelope, Dialect, InstanceCommand } from "../instances/commands";
import { requestFingerprint } from "../instances/fingerprint";
import { ReplayError } from "../protocol/errors";
import { ResultCode } from "../protocol/result-codes";
import type { SignedNonce } from "../protocol/v2-signature";
import { answerContext, answerText } from "./answers";

/** The Marketplace gives up after 5 s (spec §0); every callback is answered within 3 s whatever the actor is doing. */
export const ANSWER_BUDGET_MS = 2_500;

/** The exact answer bytes and their code. */
export interface CallAnswer {
  text: string;
  resultCode: string;
  /** What the actor did, for the request's one log line. */
  facts?: LogFacts;
}

/** Resolves with `late` when `work` takes longer than the budget; the work itself goes on and is recorded. */
export async function withinBudget<T>(work: Promise<T>, late: () => T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fallback = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late()), ANSWER_BUDGET_MS);
  });
  try {
    return await Promise.race([work, fallback]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Every dialect's way to its actor: the actor returns an outcome, the dialect renders it once here; 000004 when the
 * actor takes longer than the budget (not recorded: the next attempt gets the recorded or current answer).
 */
export async function sendToActor(
  env: Env,
  settings: Settings,
  instanceId: string,
  envelope: CallEnvelope,
  command: InstanceCommand,
): Promise<CallAnswer> {
  const work = getInstanceActor(env, instanceId).apply(instanceId, envelope, command);
  const { outcome, facts } = await withinBudget<ActorReply>(work, () => ({
    outcome:
      command.kind === "create"
        ? { resultCode: ResultCode.Processing, resultMsg: "processing", instanceId }
        : { resultCode: ResultCode.Processing, resultMsg: "processing; retry for the result" },
    facts: { instanceId, late: true },
  }));
  if (outcome.replay) throw new ReplayError();
  return { text: answerText(answerContext(settings, envelope.dialect), outcome), resultCode: outcome.resultCode, facts };
}

/** A verified, parsed call of either dialect, as its handler got it. */
export interface DialectCall {
  request: { activity: string; isTest: boolean };
  /** What the inbox keeps of the request (no personal fields); computed only for calls that reach the actor. */
  recordedRequest: () => string;
  receivedAt: number;
  /** V2 only (V1 has no nonce): checked against replays by the actor the call reaches, before anything else. */
  nonce?: SignedNonce;
}

/**
 * The envelope the actor records: debug calls get their keys under `test:`, so a saved debug case never meets a real
 * order's record; `volatile` names the fields that do not decide whether two calls are the same.
 */
export function envelopeOf(dialect: Dialect, call: DialectCall, idempotencyKey: string | null, volatile?: readonly string[]): CallEnvelope {
  const { request } = call;
  return {
    dialect,
    activity: request.activity,
    idempotencyKey: idempotencyKey && request.isTest ? `test:${idempotencyKey}` : idempotencyKey,
    fingerprint: requestFingerprint(request, volatile),
    requestText: call.recordedRequest(),
    isTest: request.isTest,
    receivedAt: call.receivedAt,
    ...(call.nonce ? { nonce: call.nonce } : {}),
  };
}
