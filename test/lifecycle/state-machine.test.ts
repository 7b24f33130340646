import { describe, expect, it } from "vitest";
import { INSTANCE_STATUSES, type InstanceStatus } from "../../src/db/schema/instances";
import { type LifecycleEvent, transition } from "../../src/instances/state-machine";

const EVENTS: LifecycleEvent["kind"][] = ["renew", "freeze", "unfreeze", "release", "upgrade", "checkChange"];

// The whole table, written out: a change to any outcome must be a deliberate change here too.
const EXPECTED: Record<InstanceStatus, Record<LifecycleEvent["kind"], string>> = {
  provisioning: { renew: "apply→provisioning", freeze: "apply→frozen", unfreeze: "noop", release: "apply→released", upgrade: "apply→provisioning", checkChange: "noop" },
  active: { renew: "apply→active", freeze: "apply→frozen", unfreeze: "noop", release: "apply→released", upgrade: "apply→active", checkChange: "noop" },
  frozen: { renew: "apply→frozen", freeze: "noop", unfreeze: "apply→active", release: "apply→released", upgrade: "apply→frozen", checkChange: "noop" },
  released: { renew: "reject 000003", freeze: "reject 000003", unfreeze: "reject 000003", release: "noop", upgrade: "reject 000003", checkChange: "reject 000003" },
  failed: { renew: "apply→failed", freeze: "apply→frozen", unfreeze: "noop", release: "apply→released", upgrade: "apply→failed", checkChange: "noop" },
};

function describeOutcome(status: InstanceStatus, kind: LifecycleEvent["kind"], provisioned: boolean): string {
  const t = transition(status, { kind } as LifecycleEvent, provisioned);
  return t.type === "apply" ? `apply→${t.to}` : t.type === "noop" ? "noop" : `reject ${t.code}`;
}

describe("instance state machine", () => {
  for (const status of INSTANCE_STATUSES) {
    for (const kind of EVENTS) {
      it(`${status} + ${kind} → ${EXPECTED[status][kind]}`, () => {
        expect(describeOutcome(status, kind, status !== "provisioning")).toBe(EXPECTED[status][kind]);
      });
    }
  }

  it("unfreezing an instance frozen before it finished provisioning returns it to provisioning", () => {
    expect(describeOutcome("frozen", "unfreeze", false)).toBe("apply→provisioning");
  });
});
