import { z } from "zod";
import { ProvisionedBody, ProvisioningFailedBody } from "../instances/seller-commands";

/*
 * The bodies of the webhook-mode writes are the actor's own fields (src/instances/seller-commands.ts), made strict
 * here: the actor tolerates extra fields in a backend's answer to instance.created, but a request to this API that
 * names a field we do not know ("adminURL") is a mistake the seller should hear about, not a silently dropped value.
 * The OpenAPI document is generated from these same objects.
 */
export const Provisioned = z.strictObject(ProvisionedBody.shape).meta({
  id: "ProvisionedBody",
  description: "the buyer's way in, as your backend created it; the password is stored sealed and never shown again",
});
export const ProvisioningFailed = z.strictObject(ProvisioningFailedBody.shape).meta({
  id: "ProvisioningFailedBody",
  description: "the Marketplace result code (000100–000107) and message the purchase fails with",
});
