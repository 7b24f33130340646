import type { FrozenReason, InstanceStatus } from "../db/schema/instances";
import { ResultCode } from "../protocol/result-codes";

/** What the Marketplace (or the gateway's own expiry check) can ask of an existing instance, V1/V2 alike. */
export type LifecycleEvent =
  /** `extendsIntoFuture`: the new expiry lies after now, so an expiry freeze no longer holds. */
  | { kind: "renew"; extendsIntoFuture: boolean }
  | { kind: "freeze"; reason: FrozenReason }
  | { kind: "unfreeze" }
  | { kind: "release" }
  | { kind: "upgrade" }
  | { kind: "checkChange" };

export interface InstanceState {
  status: InstanceStatus;
  frozenReason: FrozenReason | null;
  /** The buyer's way in exists: an unfreeze returns to `active`, else to `provisioning`. */
  provisioned: boolean;
}

export type Transition =
  /** Apply the event; `to`/`frozenReason` is the new state (may equal the old one when only data changes). */
  | { type: "apply"; to: InstanceStatus; frozenReason: FrozenReason | null }
  /** Already where the event leads: answer success, change nothing. */
  | { type: "noop"; reason: string }
  | { type: "reject"; code: (typeof ResultCode)[keyof typeof ResultCode]; message: string };

const isExpiryFreeze = (reason: FrozenReason | null) => reason === "expired-v1" || reason === "expired-gateway";

/**
 * The complete table of (state, event) outcomes (docs/lifecycle-rules.md states it in words):
 * - release always succeeds (spec §3.5, §9): it applies once, then repeats are no-ops, whatever their body;
 * - after release everything else is refused with 000003: the resource no longer exists;
 * - `failed` is terminal for status changes: a freeze or unfreeze of a failed purchase changes nothing (it never
 *   served the buyer, and unfreezing must not send it back to `provisioning`); a new newInstance retries it instead;
 * - a V2 FREEZE (reason `marketplace`: arrears, violation, expiry as the Marketplace decides) is lifted only by
 *   UNFREEZE (§3.4); an expiry freeze (V1 expireInstance, which has no unfreeze, or the gateway's own expiry check) is
 *   also lifted by a renewal that moves the expiry into the future; a Marketplace freeze on top of an expiry freeze
 *   makes it a Marketplace freeze;
 * - renew, upgrade and freeze during provisioning apply; unfreezing what is not frozen and freezing what is frozen for
 *   the same or a weaker reason are successful no-ops (spec §9: already in that state ⇒ success).
 */
export function transition(state: InstanceState, event: LifecycleEvent): Transition {
  const { status, frozenReason } = state;
  if (status === "released") {
    return event.kind === "release"
      ? { type: "noop", reason: "already released" }
      : { type: "reject", code: ResultCode.InstanceNotFound, message: "instance has been released" };
  }
  switch (event.kind) {
    case "release":
      return { type: "apply", to: "released", frozenReason: null };
    case "checkChange":
      return { type: "noop", reason: "change allowed" };
    case "upgrade":
      return { type: "apply", to: status, frozenReason };
    case "renew":
      if (status === "frozen" && isExpiryFreeze(frozenReason) && event.extendsIntoFuture) {
        return { type: "apply", to: state.provisioned ? "active" : "provisioning", frozenReason: null };
      }
      return { type: "apply", to: status, frozenReason };
    case "freeze":
      if (status === "failed") return { type: "noop", reason: "failed purchase: nothing to freeze" };
      if (status !== "frozen") return { type: "apply", to: "frozen", frozenReason: event.reason };
      if (event.reason === "marketplace" && frozenReason !== "marketplace") return { type: "apply", to: "frozen", frozenReason: "marketplace" };
      return { type: "noop", reason: "already frozen" };
    case "unfreeze":
      if (status !== "frozen") return { type: "noop", reason: `not frozen (${status})` };
      return { type: "apply", to: state.provisioned ? "active" : "provisioning", frozenReason: null };
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled lifecycle event ${JSON.stringify(unhandled)}`);
    }
  }
}
