import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { InstanceActor } from "../../src/actor/instance.actor";
import { actorOf, alarmOf, controlOrders, newInstanceBody, pendingFetchesOf, runDueOrderFetches, stateOf } from "../support/lifecycle";
import { callV2, uniqueId } from "../support/marketplace";

/*
 * Issue 9 point 5: the actor's alarm drives background work (query order retries, webhook deliveries). Whatever throws
 * inside it, what is still pending keeps an alarm: the platform retries a failed alarm only 6 times, then the work
 * would be stranded. Failures are injected in the processing after query order answered: a D1 trigger that aborts the
 * actor's write, or the actor's cached audit head made stale (as a crash between the D1 batch and the cache leaves it).
 */

/** A purchase whose first (inline) query order fails: answered 000004, its order fetch pending in the actor. */
async function purchaseAwaitingOrder() {
  const orderId = uniqueId("CS");
  await controlOrders({ failOrders: { [orderId]: 1 } });
  const answer = await callV2(newInstanceBody(orderId));
  expect(answer.json.resultCode).toBe("000004");
  const instanceId = String(answer.json.instanceId);
  expect(await pendingFetchesOf(instanceId)).toMatchObject([{ orderId, purpose: "create" }]);
  return { instanceId, orderId };
}

/** Aborts every audit row insert of one instance, so the actor's D1 batch for it fails. */
async function breakAuditWrites(instanceId: string): Promise<() => Promise<void>> {
  const name = `fail_audit_${instanceId}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${name} BEFORE INSERT ON audit_events WHEN NEW.instance_id = '${instanceId}' BEGIN SELECT RAISE(ABORT, 'injected D1 failure'); END`,
  ).run();
  return async () => {
    await env.DB.prepare(`DROP TRIGGER ${name}`).run();
  };
}

/** The alarm throws: the platform sees the failure (and may retry it itself). */
async function runAlarmExpectingFailure(instanceId: string, cause: RegExp): Promise<void> {
  await expect(runDueOrderFetches(instanceId)).rejects.toThrow(cause);
}

describe("the alarm re-arms whatever happens inside it", () => {
  it("a D1 failure while applying the fetched order leaves the alarm set, and a later alarm completes the fetch", async () => {
    const { instanceId, orderId } = await purchaseAwaitingOrder();
    const repair = await breakAuditWrites(instanceId);
    await runAlarmExpectingFailure(instanceId, /injected D1 failure/);
    expect(await alarmOf(instanceId)).not.toBeNull();
    expect(await pendingFetchesOf(instanceId)).toMatchObject([{ orderId }]);
    expect(await stateOf(instanceId)).toMatchObject({ status: "provisioning" });

    await repair();
    expect(await runDurableObjectAlarm(actorOf(instanceId))).toBe(true);
    expect(await stateOf(instanceId)).toMatchObject({ status: "active" });
    expect(await pendingFetchesOf(instanceId)).toEqual([]);
    expect((await callV2({ activity: "queryInstance", instanceId })).json.resultCode).toBe("000000");
  });

  it("a failing alarm does not spin: the next one is set in the future, not at the overdue fetch's time", async () => {
    const { instanceId } = await purchaseAwaitingOrder();
    const repair = await breakAuditWrites(instanceId);
    try {
      await runAlarmExpectingFailure(instanceId, /injected D1 failure/);
      const alarm = await alarmOf(instanceId);
      expect(alarm).not.toBeNull();
      expect(alarm ?? 0).toBeGreaterThan(Date.now());
    } finally {
      await repair();
    }
    expect(await runDurableObjectAlarm(actorOf(instanceId))).toBe(true);
    expect(await stateOf(instanceId)).toMatchObject({ status: "active" });
  });

  it("a stale cached audit head (crash after the D1 batch) fails one alarm; the actor reloads and the next alarm completes", async () => {
    const { instanceId } = await purchaseAwaitingOrder();
    const stub = actorOf(instanceId);
    const head = await runInDurableObject(stub, (_actor: InstanceActor, state) => state.storage.kv.get("auditHead"));
    // A change the actor wrote to D1 but never cached: the audit chain in D1 is one row ahead of the actor's head.
    expect((await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" })).json.resultCode).toBe("000000");
    await runInDurableObject(stub, (_actor: InstanceActor, state) => {
      state.storage.kv.put("auditHead", head);
    });

    await runAlarmExpectingFailure(instanceId, /UNIQUE constraint failed: audit_events/);
    expect(await alarmOf(instanceId)).not.toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await pendingFetchesOf(instanceId)).toEqual([]);
    // Frozen while its order was awaited: provisioned now, still frozen until the Marketplace unfreezes it.
    expect(await stateOf(instanceId)).toMatchObject({ status: "frozen", frontend_url: expect.any(String) });
  });
});
