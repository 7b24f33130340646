import type { z } from "zod";
import type { DeliveryAttempt } from "./delivery";

/**
 * How the seller's backend answers a webhook that asks it for something (instance.created in webhook provisioning,
 * license.requested): 200 with the result, 202 for later, 409/422 with a Marketplace result code to refuse, anything
 * else retried. One reading for every such webhook, so they cannot drift apart.
 */
export type SellerAnswer<T> =
  | { kind: "done"; body: T }
  /** 202: the backend finishes later through the seller API. */
  | { kind: "accepted" }
  | { kind: "refused"; resultCode: string; message: string }
  /** Anything else: retried within the window, never acted on as a guess. */
  | { kind: "retry"; reason: string };

export function readSellerAnswer<T>(
  attempt: DeliveryAttempt,
  done: z.ZodType<T>,
  refusal: z.ZodType<{ resultCode: string; message: string }>,
  expected: { done: string; refusal: string },
): SellerAnswer<T> {
  if (attempt.kind === "no-answer") return { kind: "retry", reason: attempt.error };
  const { status, text } = attempt;
  if (status === 202) return { kind: "accepted" };
  if (status === 200) {
    const body = done.safeParse(parseJson(text));
    if (body.success) return { kind: "done", body: body.data };
    const issue = body.error.issues[0];
    return { kind: "retry", reason: `HTTP 200 without ${expected.done}: ${issue?.path.join(".") || "body"} ${issue?.message ?? ""}`.trim() };
  }
  if (status === 409 || status === 422) {
    const refused = refusal.safeParse(parseJson(text));
    if (refused.success) return { kind: "refused", resultCode: refused.data.resultCode, message: refused.data.message };
    return { kind: "retry", reason: `HTTP ${status} without ${expected.refusal}` };
  }
  return { kind: "retry", reason: `HTTP ${status}` };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
