import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventRow, outboxStatements } from "../../src/events/outbox";
import { getDb } from "../../src/db/client";
import { actorOf, controlOrders, newInstanceBody, pendingFetchesOf, runDueOrderFetches } from "../support/lifecycle";
import { callV2, uniqueId } from "../support/marketplace";

/*
 * Issue 23: the alarm runs each due duty on its own. A duty that throws (here the order fetch, whose D1 batch is
 * aborted) must not keep the next one (here the webhook delivery of the same actor's stream) from running.
 */
describe("the instance actor's alarm", () => {
  it("still delivers the stream's due events when the order-fetch duty throws", async () => {
    const orderId = uniqueId("CS");
    await controlOrders({ failOrders: { [orderId]: 1 } });
    const answer = await callV2(newInstanceBody(orderId));
    expect(answer.json.resultCode).toBe("000004");
    const instanceId = String(answer.json.instanceId);
    expect(await pendingFetchesOf(instanceId)).toHaveLength(1);
    const db = getDb(env);
    const row = eventRow({ type: "instance.created", instanceId: null, stream: instanceId, test: true, data: { probe: true }, at: Date.now() }, true);
    await db.batch([outboxStatements.insertEvent(db, row)]);
    await actorOf(instanceId).kick(instanceId);
    const trigger = `fail_audit_${instanceId}`;
    await env.DB.prepare(`CREATE TRIGGER ${trigger} BEFORE INSERT ON audit_events WHEN NEW.instance_id = '${instanceId}' BEGIN SELECT RAISE(ABORT, 'injected D1 failure'); END`).run();
    try {
      await expect(runDueOrderFetches(instanceId)).rejects.toThrow(/injected D1 failure/);
    } finally {
      await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    }
    const probe = await env.DB.prepare("SELECT delivery_state FROM events WHERE id = ?").bind(row.id).first<{ delivery_state: string }>();
    expect(probe?.delivery_state).toBe("delivered");
  });
});
