import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type InstanceActor, getInstanceActor } from "../../src/actor/instance.actor";
import { OVERDUE_AFTER_MS, deliverySweepJob } from "../../src/jobs/delivery-sweep.job";
import { callV2 } from "../support/marketplace";
import { sellerBackend } from "../support/seller-backend";
import { allDelivered, deliveriesOf, makeDueAndRunAlarm, makePurchase, outboxOf, waitForOutbox } from "../support/webhook-delivery";
import { intendedCrash } from "../support/crash";

/*
 * A crash between the D1 batch (the change and its event) and the webhook send loses nothing: the event is in the
 * outbox, and either the actor's alarm (it survives a restart) or the cron sweep (when the alarm and everything the
 * actor kept in its own storage are gone) sends it, exactly once.
 *
 * To hold events between the batch and the send, the stream is blocked first: the backend fails one delivery, so the
 * next changes' events are committed and wait behind it.
 */

/** A provisioned instance whose stream then holds instance.frozen (failed once, retrying) and instance.unfrozen (never sent). */
async function instanceWithUnsentEvents(): Promise<string> {
  const { body, instanceId } = makePurchase();
  expect((await callV2(body)).json.resultCode).toBe("000000");
  await waitForOutbox(instanceId, allDelivered(2));
  await sellerBackend.failTimes(instanceId, 1);
  expect((await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" })).json.resultCode).toBe("000000");
  await waitForOutbox(instanceId, (rows) => rows[2]?.attempts === 1);
  expect((await callV2({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" })).json.resultCode).toBe("000000");
  const rows = await outboxOf(instanceId);
  expect(rows.map((row) => [row.type, row.state, row.attempts])).toEqual([
    ["instance.created", "delivered", 1],
    ["instance.provisioned", "delivered", 1],
    ["instance.frozen", "pending", 1],
    ["instance.unfrozen", "pending", 0],
  ]);
  return instanceId;
}

/** After recovery: each event acknowledged exactly once, in commit order, and the actor goes on working. */
async function expectEachSentOnce(instanceId: string): Promise<void> {
  const rows = await waitForOutbox(instanceId, allDelivered(4));
  const seen = await deliveriesOf(instanceId);
  expect(seen.map((d) => [d.type, d.status])).toEqual([
    ["instance.created", 200],
    ["instance.provisioned", 200],
    ["instance.frozen", 500],
    ["instance.frozen", 200],
    ["instance.unfrozen", 200],
  ]);
  const acked = seen.filter((d) => d.status === 200);
  expect(acked.map((d) => d.webhookId)).toEqual(rows.map((row) => row.id));

  // The next change after the restart continues the stream.
  expect((await callV2({ activity: "releaseInstance", instanceId })).json.resultCode).toBe("000000");
  const after = await waitForOutbox(instanceId, allDelivered(5));
  expect(after.map((row) => row.type).at(-1)).toBe("instance.released");
  expect((await deliveriesOf(instanceId)).filter((d) => d.type === "instance.released")).toHaveLength(1);
}

describe("a crash between the D1 batch and the webhook send", () => {
  it("the object restarts (in-memory state gone, its storage kept): the alarm sends the waiting events once each", async () => {
    const instanceId = await instanceWithUnsentEvents();
    const stub = getInstanceActor(env, instanceId);
    await expect(
      runInDurableObject(stub, (_actor: InstanceActor, state) => {
        state.abort(intendedCrash("a crash after the D1 batch"));
      }),
    ).rejects.toThrow();

    await makeDueAndRunAlarm(instanceId);
    await expectEachSentOnce(instanceId);
  });

  it("the actor's own storage and its alarm are lost too: the cron sweep finds the overdue events and they are sent once each", async () => {
    const instanceId = await instanceWithUnsentEvents();
    const stub = getInstanceActor(env, instanceId);
    await runInDurableObject(stub, async (_actor: InstanceActor, state) => {
      for (const [key] of state.storage.kv.list()) state.storage.kv.delete(key);
      await state.storage.deleteAlarm();
    });
    // Nothing is due from the actor's point of view: no alarm.
    expect(await runInDurableObject(stub, (_actor: InstanceActor, state) => state.storage.getAlarm())).toBeNull();

    // A minute later (past OVERDUE_AFTER_MS) the sweep runs; the retry's time has come by then as well.
    await env.DB.prepare("UPDATE events SET next_attempt_at = ? WHERE stream = ? AND delivery_state = 'pending'").bind(Date.now() - 1, instanceId).run();
    const counts = await deliverySweepJob(env, Date.now() + OVERDUE_AFTER_MS + 1);
    expect(counts).toMatchObject({ wakeFailures: 0 });
    expect(counts.streamsWoken).toBeGreaterThanOrEqual(1);
    await expectEachSentOnce(instanceId);
  });
});
