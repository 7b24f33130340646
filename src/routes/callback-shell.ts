import { type KeyKind, type Settings, getSettings, keyFor } from "../env";
import { ConfigurationError, type GatewayError, toGatewayError } from "../protocol/errors";
import { log } from "../observability/log";
import { noteOutcome } from "../observability/request-log";
import { errorAnswer, signedAnswerText } from "../protocol/answer";
import { ResultCode } from "../protocol/result-codes";
import { noteAnsweredCall } from "../operations/callback-problems";

export interface EndpointAnswer {
  text: string;
  resultCode: string;
  /** The handler's own facts (ids and states, never bodies) for the request's one log line. */
  facts?: Record<string, unknown>;
}

export interface CallbackContext {
  settings: Settings;
  /** The interface key: verifies the call, signs the answer. */
  key: string;
  receivedAt: number;
  /** Names the activity in the log line, once the body is read far enough to know it. */
  noteActivity: (activity: unknown) => void;
  /**
   * The call proved authentic (its signature or authToken verified): from here on a failed answer is a problem
   * (callback.failed). Refusals before it open nothing, so no outsider can raise a problem or an alert.
   */
  markVerified: () => void;
}

/**
 * What every Marketplace callback shares, whatever its signature scheme: settings, the key of its interface type,
 * its endpoint, activity and result code in the request's log line, and an HTTP 200 JSON answer with Body-Sign,
 * errors included (spec §2.1, §2.4).
 */
export async function answerCallback(
  name: string,
  env: Env,
  keyKind: KeyKind,
  work: (context: CallbackContext) => Promise<EndpointAnswer>,
  ctx?: ExecutionContext,
): Promise<Response> {
  const receivedAt = Date.now();
  let settings: Settings;
  try {
    settings = getSettings(env);
  } catch (error) {
    return misconfigured(name, env, keyKind, toGatewayError(error));
  }
  const key = settings.keys[keyKind];
  let activity: string | undefined;
  const noteActivity = (value: unknown) => {
    activity = typeof value === "string" ? value.slice(0, 40) : undefined;
  };
  let verified = false;
  const markVerified = () => {
    verified = true;
  };
  try {
    const answer = await work({ settings, key, receivedAt, noteActivity, markVerified });
    if (verified) noteAnsweredCall(env, ctx, { endpoint: name, activity, resultCode: answer.resultCode, answerText: answer.text, instanceId: answer.facts?.instanceId }, receivedAt);
    // Into the request's log line (src/observability/request-log.ts), not a line of its own.
    return noteOutcome(signedAnswerText(answer.text, key), "info", { ...answer.facts, endpoint: name, activity, resultCode: answer.resultCode });
  } catch (error) {
    const failure = toGatewayError(error);
    if (verified) noteAnsweredCall(env, ctx, { endpoint: name, activity, resultCode: failure.code, resultMsg: failure.message, instanceId: undefined }, receivedAt);
    return noteOutcome(errorAnswer(failure, key), failure.reportable ? "error" : "warn", {
      endpoint: name,
      activity,
      resultCode: failure.code,
      refused: failure.message,
      detail: failure.detail,
    });
  }
}

/**
 * Broken settings still get the spec's answer: 000005, signed with the interface's own key whenever that key is
 * there (the Marketplace's debugger flags a missing Body-Sign as a second, misleading fault). Only when the key itself
 * is missing is the answer unsigned: there is nothing to sign with.
 */
function misconfigured(name: string, env: Env, keyKind: KeyKind, failure: GatewayError): Response {
  const setting = failure instanceof ConfigurationError ? failure.setting : undefined;
  log("error", "settings.invalid", { endpoint: name, setting, detail: failure.detail });
  const body = { resultCode: ResultCode.InternalError, resultMsg: failure.message };
  const key = keyFor(keyKind, env);
  return key ? signedAnswerText(JSON.stringify(body), key) : Response.json(body, { status: 200 });
}
