import { ProvisionedBody, ProvisioningFailedBody } from "../instances/seller-commands";

/*
 * The bodies of the webhook-mode writes are the actor's own schemas (src/instances/seller-commands.ts): the route
 * validates with exactly what the actor accepts, and the OpenAPI document is generated from the same objects.
 */
export const Provisioned = ProvisionedBody.meta({
  id: "ProvisionedBody",
  description: "the buyer's way in, as your backend created it; the password is stored sealed and never shown again",
});
export const ProvisioningFailed = ProvisioningFailedBody.meta({
  id: "ProvisioningFailedBody",
  description: "the Marketplace result code (000100–000107) and message the purchase fails with",
});
