import type { DeliveryAttempt } from "../../events/delivery";
import { readSellerAnswer } from "../../events/seller-answer";
import { type ProvisionedBody, ProvisionedBody as ProvisionedBodySchema, ProvisioningFailedBody } from "../seller-commands";

/** What the seller backend's answer to `instance.created` decides (docs/seller-contract.md "Webhook provisioning"). */
export type ProvisioningAnswer =
  | { kind: "provisioned"; body: ProvisionedBody }
  /** 202: still provisioning; POST …/provisioned finishes it. */
  | { kind: "accepted" }
  | { kind: "refused"; resultCode: string; message: string }
  /** Anything else: retried within the window, never provisioned on a guess. */
  | { kind: "retry"; reason: string };

export function readProvisioningAnswer(attempt: DeliveryAttempt): ProvisioningAnswer {
  const answer = readSellerAnswer(attempt, ProvisionedBodySchema, ProvisioningFailedBody, {
    done: "a valid provisioning result",
    refusal: "a resultCode 000100–000107 and a message",
  });
  return answer.kind === "done" ? { kind: "provisioned", body: answer.body } : answer;
}
