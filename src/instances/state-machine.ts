import type { InstanceStatus } from "../db/schema/instances";
import { ResultCode } from "../protocol/result-codes";

/** What the Marketplace can ask of an existing instance, independent of V1/V2 wording. */
export type LifecycleEvent =
  | { kind: "renew" }
  | { kind: "freeze" }
  | { kind: "unfreeze" }
  | { kind: "release" }
  | { kind: "upgrade" }
  | { kind: "checkChange" };

export type Transition =
  /** Apply the event; `to` is the new status (may equal the old one when only data changes). */
  | { type: "apply"; to: InstanceStatus }
  /** Already where the event leads: answer success, change nothing. */
  | { type: "noop"; reason: string }
  | { type: "reject"; code: (typeof ResultCode)[keyof typeof ResultCode]; message: string };

/**
 * The complete table of (status, event) outcomes. Out-of-order events have defined results:
 * - a renew, upgrade or freeze during provisioning applies (provisioning goes on; a frozen instance that finishes
 *   provisioning stays frozen until unfrozen);
 * - anything but a release after release is refused with 000003, since the resource no longer exists
 *   (a repeated release succeeds);
 * - unfreezing an instance that is not frozen and freezing a frozen one are successful no-ops.
 */
export function transition(status: InstanceStatus, event: LifecycleEvent, provisioned: boolean): Transition {
  if (status === "released") {
    return event.kind === "release"
      ? { type: "noop", reason: "already released" }
      : { type: "reject", code: ResultCode.InstanceNotFound, message: "instance has been released" };
  }
  switch (event.kind) {
    case "release":
      return { type: "apply", to: "released" };
    case "renew":
    case "upgrade":
      return { type: "apply", to: status };
    case "checkChange":
      return { type: "noop", reason: "change allowed" };
    case "freeze":
      if (status === "frozen") return { type: "noop", reason: "already frozen" };
      return { type: "apply", to: "frozen" };
    case "unfreeze":
      if (status !== "frozen") return { type: "noop", reason: `not frozen (${status})` };
      return { type: "apply", to: provisioned ? "active" : "provisioning" };
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled lifecycle event ${JSON.stringify(unhandled)}`);
    }
  }
}
