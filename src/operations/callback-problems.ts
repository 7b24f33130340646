import { ResultCode } from "../protocol/result-codes";
import { inBackground, problemLink, reportProblem } from "./problems";
import { isSelfCheckContext } from "./self-check/context";

/**
 * Activities whose 000004 is an answer, not a failure: a purchase or query while the order is fetched or the seller's
 * backend provisions (docs/seller-contract.md "Order first"), and an online license still being issued (getLicenseAsync
 * answers 000004 until it is; marketplace-open-apis §3.4).
 */
const PROCESSING_IS_AN_ANSWER: ReadonlySet<string> = new Set(["newInstance", "queryInstance", "getLicenseAsync"]);

export interface AnsweredCall {
  /** The endpoint's log name: "v2-basic", "kit-v2:tenantSync", "v1-basic", … */
  endpoint: string;
  activity: string | undefined;
  resultCode: string;
  /** The answer's resultMsg, or the answer text to read it from (read only when the call failed). */
  resultMsg?: string;
  answerText?: string;
  instanceId: unknown;
}

/** The call failed in the Marketplace's eyes: anything but success, except a refusal (000001) and an expected 000004. */
export function isFailedCall(call: Pick<AnsweredCall, "activity" | "resultCode">): boolean {
  if (call.resultCode === ResultCode.Success) return false;
  // Bad signature, stale timestamp, replay: refused before anything happened; an outsider must not raise a problem.
  if (call.resultCode === ResultCode.AuthFailed) return false;
  return !(call.resultCode === ResultCode.Processing && PROCESSING_IS_AN_ANSWER.has(call.activity ?? ""));
}

function messageOf(call: AnsweredCall): string {
  if (call.resultMsg !== undefined) return call.resultMsg;
  try {
    const parsed = JSON.parse(call.answerText ?? "") as { resultMsg?: unknown };
    return typeof parsed.resultMsg === "string" ? parsed.resultMsg : "";
  } catch {
    return "";
  }
}

/**
 * callback.failed for a call that passed signature verification (only such calls get here) and failed: one problem
 * per instance (or per endpoint and activity when no instance is named), its timeline linked in the detail. Written
 * after the answer (ctx.waitUntil): the Marketplace's answer never waits for it.
 */
export function noteAnsweredCall(env: Env, ctx: ExecutionContext | undefined, call: AnsweredCall, receivedAt: number): void {
  if (!isFailedCall(call) || isSelfCheckContext(ctx)) return;
  const activity = call.activity ?? "unknown activity";
  inBackground(ctx ? (promise) => ctx.waitUntil(promise) : undefined, async () => {
    const instanceId = typeof call.instanceId === "string" && call.instanceId !== "" ? call.instanceId : undefined;
    const subject = instanceId ?? `${call.endpoint} ${activity}`;
    const message = messageOf(call).slice(0, 200);
    const where = instanceId
      ? `Timeline: ${problemLink("callback.failed", instanceId)} (GET /admin/api/instances/${instanceId}/timeline).`
      : "No instance was named: look for the call in the logs (endpoint and activity in the request line).";
    await reportProblem(
      env,
      {
        kind: "callback.failed",
        subject,
        summary: `${activity} answered ${call.resultCode}${message ? ` (${message})` : ""}: the Marketplace sees a failed call (${call.endpoint}).`,
        detail: `A signed ${call.endpoint} call (${activity}) at ${new Date(receivedAt).toISOString()} was answered ${call.resultCode}. ${where}`,
      },
      receivedAt,
    );
  });
}
