/** What a provisioning adapter needs to know about a purchase. */
export interface ProvisioningRequest {
  instanceId: string;
  orderId: string;
  orderLineId: string | null;
  isTest: boolean;
}

/** The tenant a buyer gets: shown through queryInstance's appInfo. The password is sealed before it is stored. */
export interface IssuedTenant {
  frontendUrl: string;
  adminUrl?: string;
  adminUserName: string;
  adminPassword: string;
}

export type ProvisioningResult =
  | { state: "done"; tenant: IssuedTenant }
  /** Not finished: the actor answers 000004 and asks again from its alarm at `retryAt`. */
  | { state: "pending"; retryAt: number }
  | { state: "failed"; reason: string };

/**
 * `builtin` issues the tenant itself; `webhook` (a later issue) asks the seller's backend. Either must return
 * quickly: the answer to the Marketplace waits on it.
 */
export interface ProvisioningAdapter {
  readonly name: "builtin" | "webhook";
  provision(request: ProvisioningRequest, now: number): Promise<ProvisioningResult>;
}
