import type { FrozenReason, Instance } from "../db/schema/instances";
import type { SignedNonce } from "../protocol/v2-signature";

/** Which interface a call came through: decides the answer's wording, never the state machine. */
export type Dialect = "v2" | "v1";

/** The verified callback, as the inbox records it. */
export interface CallEnvelope {
  dialect: Dialect;
  activity: string;
  /** Null for calls whose repeats are idempotent by state (status changes, release, checks). */
  idempotencyKey: string | null;
  /** Hash of the fields that define the request; a repeat with another fingerprint is a conflict. */
  fingerprint: string;
  /** What the inbox keeps of the request (no personal fields). */
  requestText: string;
  isTest: boolean;
  receivedAt: number;
  /** Who asked, when not the Marketplace (the operator's admin API): kept in the audit row. */
  by?: "admin";
  /** The call's nonce (V2): the actor refuses a replay before applying anything. */
  nonce?: SignedNonce;
  /**
   * A lifecycle call the Marketplace does not retry as it does a create: by this time (epoch ms) the actor has
   * accepted it or dropped it unapplied (src/dialects/answer-budget.ts). Absent: applied whenever its turn comes.
   */
  decideBy?: number;
}

export interface CreateCommand {
  kind: "create";
  createKey: string;
  orderId: string;
  orderLineId: string | null;
  /** What the call itself says (V1 carries these); the order from query order is the truth for real purchases. */
  productId: string | null;
  skuCode: string | null;
  chargingMode: string | null;
  expireAt: number | null;
}

/** The create an existing purchase came from, run again (an admin replay or retry of a purchase that did not finish). */
export function createCommandOf(instance: Instance): CreateCommand {
  return {
    kind: "create",
    createKey: instance.createKey,
    orderId: instance.orderId,
    orderLineId: instance.orderLineId,
    productId: instance.productId,
    skuCode: instance.skuCode,
    chargingMode: instance.chargingMode,
    expireAt: instance.expireAt,
  };
}

export type LifecycleKind = "renew" | "freeze" | "unfreeze" | "release" | "upgrade" | "checkChange";

export interface LifecycleCommand {
  kind: "lifecycle";
  event: LifecycleKind;
  /** freeze: why (a V2/V1 status change is `marketplace`, V1 expireInstance `expired-v1`). */
  freezeReason?: FrozenReason;
  /** renew: the new expiry; upgrade: the order to fetch. */
  expireAt?: number;
  productId?: string;
  skuCode?: string;
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
  memo?: string;
}

/**
 * What a call produced, independent of dialect: the caller's dialect renders it into the answer bytes once, on the
 * way out. `appInfo` is set on a create whose instance is usable (V1 answers carry it, V2 leaves it to queryInstance).
 */
export interface Outcome {
  resultCode: string;
  resultMsg: string;
  instanceId?: string;
  appInfo?: AppInfo;
  /** The call was a replay (its nonce was already kept): nothing was applied; the caller refuses it with 000001. */
  replay?: true;
}
