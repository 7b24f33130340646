import { getInstanceActor } from "../actor/instance.actor";
import type { Settings } from "../env";
import type { CallEnvelope, InstanceCommand, Outcome } from "../instances/commands";
import { ResultCode } from "../protocol/result-codes";
import { answerContext, answerText } from "./answers";

/** The Marketplace gives up after 5 s (spec §0); every callback is answered within 3 s whatever the actor is doing. */
export const ANSWER_BUDGET_MS = 2_500;

/** The exact answer bytes and their code. */
export interface CallAnswer {
  text: string;
  resultCode: string;
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
  const outcome = await withinBudget<Outcome>(work, () =>
    command.kind === "create"
      ? { resultCode: ResultCode.Processing, resultMsg: "processing", instanceId }
      : { resultCode: ResultCode.Processing, resultMsg: "processing; retry for the result" },
  );
  return { text: answerText(answerContext(settings, envelope.dialect), outcome), resultCode: outcome.resultCode };
}
