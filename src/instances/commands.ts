import type { LifecycleEvent } from "./state-machine";

/** Which interface a call came through: decides the answer's wording, never the state machine. */
export type Dialect = "v2" | "v1";

/** The verified callback, as the inbox records it. */
export interface CallEnvelope {
  dialect: Dialect;
  activity: string;
  /** Null for calls whose repeats are idempotent by state (status changes, checks). */
  idempotencyKey: string | null;
  /** Hash of the fields that define the request; a repeat with another fingerprint is a conflict. */
  fingerprint: string;
  requestText: string;
  isTest: boolean;
  receivedAt: number;
}

export interface CreateCommand {
  kind: "create";
  createKey: string;
  orderId: string;
  orderLineId: string | null;
  productId: string | null;
  skuCode: string | null;
  chargingMode: string | null;
  expireAt: number | null;
}

export interface LifecycleCommand {
  kind: "lifecycle";
  event: LifecycleEvent;
  /** renew: the new expiry; upgrade/renew: the order to fetch. */
  expireAt?: number;
  productId?: string;
  orderId?: string;
  orderLineId?: string;
  scene?: string;
  /** Why the gateway itself acts (e.g. a freeze on expiry without a callback); kept in the audit row. */
  reason?: string;
}

export type InstanceCommand = CreateCommand | LifecycleCommand;

/** The buyer's way in, in plain text; each dialect decides how it travels (V1 encrypts userName/password). */
export interface AppInfo {
  frontEndUrl: string;
  adminUrl?: string;
  userName?: string;
  password?: string;
}

/** What an applied call produced; the dialect turns it into the exact answer bytes. */
export interface Outcome {
  resultCode: string;
  resultMsg: string;
  instanceId?: string;
  /** Set on a create that finished provisioning: V1 answers carry it, V2 answers leave it to queryInstance. */
  appInfo?: AppInfo;
}
