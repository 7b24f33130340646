import type { DeliveryAttempt } from "../../events/delivery";
import { type ProvisionedBody, ProvisionedBody as ProvisionedBodySchema, ProvisioningFailedBody } from "../seller-commands";

/** What the seller backend's answer to `instance.created` decides (seller-contract.md "Webhook provisioning"). */
export type ProvisioningAnswer =
  | { kind: "provisioned"; body: ProvisionedBody }
  /** 202: still provisioning; POST …/provisioned finishes it. */
  | { kind: "accepted" }
  | { kind: "refused"; resultCode: string; message: string }
  /** Anything else: retried within the window, never provisioned on a guess. */
  | { kind: "retry"; reason: string };

export function readProvisioningAnswer(attempt: DeliveryAttempt): ProvisioningAnswer {
  if (attempt.kind === "no-answer") return { kind: "retry", reason: attempt.error };
  const { status, text } = attempt;
  if (status === 202) return { kind: "accepted" };
  if (status === 200) {
    const body = ProvisionedBodySchema.safeParse(parseJson(text));
    if (body.success) return { kind: "provisioned", body: body.data };
    return { kind: "retry", reason: `HTTP 200 without a valid provisioning result: ${body.error.issues[0]?.path.join(".") || "body"} ${body.error.issues[0]?.message ?? ""}`.trim() };
  }
  if (status === 409 || status === 422) {
    const refusal = ProvisioningFailedBody.safeParse(parseJson(text));
    if (refusal.success) return { kind: "refused", resultCode: refusal.data.resultCode, message: refusal.data.message };
    return { kind: "retry", reason: `HTTP ${status} without a resultCode 000100–000107 and a message` };
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
