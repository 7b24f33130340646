import { describe, expect, it } from "vitest";
import type { FrozenReason, InstanceStatus } from "../../src/db/schema/instances";
import { type LifecycleEvent, transition } from "../../src/instances/state-machine";

/*
 * The outcomes the spec and docs/lifecycle-rules.md require, written out by hand (not derived from the code):
 * - §3.5/§9: release always succeeds; a repeat after release is a success without change; anything else after
 *   release: 000003 (the resource no longer exists).
 * - §3.4: FREEZE (expiry, violation, arrears) is lifted by UNFREEZE; §9: already in that state ⇒ success.
 * - V1 expireInstance has no unfreeze (§5.4): an expiry freeze (V1's or the gateway's own) is also lifted by a
 *   renewal whose new expiry lies in the future; a Marketplace FREEZE is lifted only by UNFREEZE.
 * - A failed purchase never served the buyer: status changes leave it failed (it must not go back to provisioning,
 *   where queryInstance answers 000004 forever).
 */
const EVENTS: Record<string, LifecycleEvent> = {
  "renew(future)": { kind: "renew", extendsIntoFuture: true },
  "renew(past)": { kind: "renew", extendsIntoFuture: false },
  "FREEZE": { kind: "freeze", reason: "marketplace" },
  "expire(v1)": { kind: "freeze", reason: "expired-v1" },
  "expire(gateway)": { kind: "freeze", reason: "expired-gateway" },
  "UNFREEZE": { kind: "unfreeze" },
  "release": { kind: "release" },
  "upgrade": { kind: "upgrade" },
  "checkChange": { kind: "checkChange" },
};

type State = { status: InstanceStatus; frozenReason: FrozenReason | null; provisioned: boolean };
const STATES: Record<string, State> = {
  provisioning: { status: "provisioning", frozenReason: null, provisioned: false },
  active: { status: "active", frozenReason: null, provisioned: true },
  "frozen/marketplace": { status: "frozen", frozenReason: "marketplace", provisioned: true },
  "frozen/expired-v1": { status: "frozen", frozenReason: "expired-v1", provisioned: true },
  "frozen/expired-gateway": { status: "frozen", frozenReason: "expired-gateway", provisioned: true },
  released: { status: "released", frozenReason: null, provisioned: true },
  failed: { status: "failed", frozenReason: null, provisioned: false },
};

const REJECT = "reject 000003";
const SPEC: Record<string, Record<string, string>> = {
  provisioning: {
    "renew(future)": "provisioning", "renew(past)": "provisioning", FREEZE: "frozen/marketplace", "expire(v1)": "frozen/expired-v1",
    "expire(gateway)": "frozen/expired-gateway", UNFREEZE: "noop", release: "released", upgrade: "provisioning", checkChange: "noop",
  },
  active: {
    "renew(future)": "active", "renew(past)": "active", FREEZE: "frozen/marketplace", "expire(v1)": "frozen/expired-v1",
    "expire(gateway)": "frozen/expired-gateway", UNFREEZE: "noop", release: "released", upgrade: "active", checkChange: "noop",
  },
  "frozen/marketplace": {
    "renew(future)": "frozen/marketplace", "renew(past)": "frozen/marketplace", FREEZE: "noop", "expire(v1)": "noop",
    "expire(gateway)": "noop", UNFREEZE: "active", release: "released", upgrade: "frozen/marketplace", checkChange: "noop",
  },
  "frozen/expired-v1": {
    "renew(future)": "active", "renew(past)": "frozen/expired-v1", FREEZE: "frozen/marketplace", "expire(v1)": "noop",
    "expire(gateway)": "noop", UNFREEZE: "active", release: "released", upgrade: "frozen/expired-v1", checkChange: "noop",
  },
  "frozen/expired-gateway": {
    "renew(future)": "active", "renew(past)": "frozen/expired-gateway", FREEZE: "frozen/marketplace", "expire(v1)": "noop",
    "expire(gateway)": "noop", UNFREEZE: "active", release: "released", upgrade: "frozen/expired-gateway", checkChange: "noop",
  },
  released: {
    "renew(future)": REJECT, "renew(past)": REJECT, FREEZE: REJECT, "expire(v1)": REJECT, "expire(gateway)": REJECT,
    UNFREEZE: REJECT, release: "noop", upgrade: REJECT, checkChange: REJECT,
  },
  failed: {
    "renew(future)": "failed", "renew(past)": "failed", FREEZE: "noop", "expire(v1)": "noop", "expire(gateway)": "noop",
    UNFREEZE: "noop", release: "released", upgrade: "failed", checkChange: "noop",
  },
};

function outcome(state: State, event: LifecycleEvent): string {
  const t = transition(state, event);
  if (t.type === "noop") return "noop";
  if (t.type === "reject") return `reject ${t.code}`;
  return t.frozenReason ? `${t.to}/${t.frozenReason}` : t.to;
}

describe("instance state machine, as the spec's table", () => {
  for (const [stateName, state] of Object.entries(STATES)) {
    for (const [eventName, event] of Object.entries(EVENTS)) {
      it(`${stateName} + ${eventName} → ${SPEC[stateName]?.[eventName]}`, () => {
        expect(outcome(state, event)).toBe(SPEC[stateName]?.[eventName]);
      });
    }
  }

  it("an instance frozen before it finished provisioning returns to provisioning, by UNFREEZE or by a renewal out of an expiry freeze", () => {
    expect(outcome({ status: "frozen", frozenReason: "marketplace", provisioned: false }, { kind: "unfreeze" })).toBe("provisioning");
    expect(outcome({ status: "frozen", frozenReason: "expired-v1", provisioned: false }, { kind: "renew", extendsIntoFuture: true })).toBe("provisioning");
  });
});
