import type { CredentialsResult, ProvisionedBody, ProvisioningFailedBody, SellerWriteResult } from "../instances/seller-commands";
import { getInstanceActor } from "../instances/instance.actor";

/**
 * The InstanceActor's seller-facing RPC methods. The actor is the only writer of an instance, so every seller write
 * goes through these. TEMPORARY: until the actor rewrite (src/actor/instance.actor.ts) is merged, its stub does not
 * declare them yet; this is the one place that knows, and it goes away with the merge.
 */
export interface SellerWrites {
  provisioned(instanceId: string, body: ProvisionedBody, now: number): Promise<SellerWriteResult>;
  provisioningFailed(instanceId: string, body: ProvisioningFailedBody, now: number): Promise<SellerWriteResult>;
  credentials(instanceId: string, now: number): Promise<CredentialsResult>;
}

export function sellerWritesOf(env: Env, instanceId: string): SellerWrites {
  return getInstanceActor(env, instanceId) as unknown as SellerWrites;
}
