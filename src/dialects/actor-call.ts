import { type ActorReply, type LogFacts, getInstanceActor } from "../actor/instance.actor";
import type { Settings } from "../env";
import type { CallEnvelope, Dialect, InstanceCommand } from "../instances/commands";
import { requestFingerprint } from "../instances/fingerprint";
import { ReplayError } from "../protocol/errors";
import { ResultCode } from "../protocol/result-codes";
import type { SignedNonce } from "../protocol/v2-signature";
import { ANSWER_BUDGET } from "./answer-budget";
import { answerContext, answerText } from "./answers";

/** The exact answer bytes and their code. */
export interface CallAnswer {
  text: string;
  resultCode: string;
  /** What the actor did, for the request's one log line. */
  facts?: LogFacts;
}

/**
 * Resolves with `late` when `work` takes longer than `budgetMs` (by default a create's budget); the work itself goes on
 * and is recorded.
 */
export async function withinBudget<T>(work: Promise<T>, late: () => T, budgetMs: number = ANSWER_BUDGET.create.answerMs): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fallback = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late()), Math.max(0, budgetMs));
  });
  try {
    return await Promise.race([work, fallback]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a change whose actor did not answer in time is told: not known to be applied (the actor may have dropped it). */
const NO_DECISION = "no answer from the instance in time; send the call again (a repeat is answered from what was applied)";

/**
 * Every dialect's way to its actor: the actor returns an outcome, the dialect renders it once here. A create still
 * running at its budget is answered 000004 (not recorded: the next attempt gets the recorded or current answer);
 * every other call is accepted or dropped by the actor within its own budget (src/dialects/answer-budget.ts) and
 * never answered 000004.
 */
export async function sendToActor(
  env: Env,
  settings: Settings,
  instanceId: string,
  envelope: CallEnvelope,
  command: InstanceCommand,
): Promise<CallAnswer> {
  const actor = getInstanceActor(env, instanceId);
  const { outcome, facts } =
    command.kind === "create"
      ? await withinBudget<ActorReply>(actor.apply(instanceId, envelope, command), () => ({
          outcome: { resultCode: ResultCode.Processing, resultMsg: "processing", instanceId },
          facts: { instanceId, late: true },
        }))
      : await withinBudget<ActorReply>(
          actor.apply(instanceId, { ...envelope, decideBy: envelope.receivedAt + ANSWER_BUDGET.change.decideMs }, command),
          () => ({ outcome: { resultCode: ResultCode.InternalError, resultMsg: NO_DECISION }, facts: { instanceId, late: true } }),
          envelope.receivedAt + ANSWER_BUDGET.change.answerMs - Date.now(),
        );
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
