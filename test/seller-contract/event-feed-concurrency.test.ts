import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callV2, expireTime, uniqueId } from "../support/marketplace";
import { acknowledged, allDelivered, makePurchase, outboxOf, readFeed, waitForOutbox } from "../support/webhook-delivery";

/*
 * The event feed while 50 lifecycle calls on 10 instances run at once (real signed calls through the Worker): a
 * reader following nextCursor sees each event exactly once, each instance's events in the order they happened, and
 * each entry is the very object the webhook delivered.
 */

const INSTANCES = 10;
const CALLS_PER_INSTANCE = 5;

type FeedEvent = { id: string; type: string; instanceId: string; data: { version: number } };

/** Five calls on one instance: three renewals (each always applies) and a freeze and an unfreeze (which may be no-ops). */
function lifecycleCalls(instanceId: string): Array<Record<string, unknown>> {
  const renew = (months: number) => {
    const orderId = uniqueId("CS");
    return { activity: "refreshInstance", instanceId, orderId, orderLineId: `${orderId}-000001`, scene: "RENEWAL", expireTime: expireTime(new Date(Date.now() + months * 30 * 24 * 3600_000)) };
  };
  return [renew(13), { activity: "updateInstanceStatus", instanceId, status: "FREEZE" }, renew(14), { activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" }, renew(15)];
}

describe("the event feed under concurrent lifecycle calls", () => {
  it("a reader polling with nextCursor sees each event exactly once, per instance in order, equal to the webhook bodies", async () => {
    const instanceIds: string[] = [];
    for (let i = 0; i < INSTANCES; i += 1) {
      const { body, instanceId } = makePurchase();
      expect((await callV2(body)).json.resultCode).toBe("000000");
      instanceIds.push(instanceId);
    }
    const { cursor: start } = await readFeed();
    const startSeq = (await env.DB.prepare("SELECT COALESCE(MAX(seq), 0) AS seq FROM events").first<{ seq: number }>())?.seq ?? 0;

    const calls = instanceIds.flatMap((instanceId) => lifecycleCalls(instanceId));
    expect(calls).toHaveLength(INSTANCES * CALLS_PER_INSTANCE);
    let running = true;
    const answers = Promise.all(calls.map((call) => callV2(call))).finally(() => {
      running = false;
    });

    const seen: FeedEvent[] = [];
    let cursor = start;
    let polls = 0;
    while (running) {
      const page = await readFeed(cursor);
      seen.push(...(page.events as unknown as FeedEvent[]));
      cursor = page.cursor;
      polls += 1;
    }
    for (const answer of await answers) expect(answer.json.resultCode, answer.text).toBe("000000");
    seen.push(...((await readFeed(cursor)).events as unknown as FeedEvent[]));
    expect(polls).toBeGreaterThan(0);

    // Exactly once: no repeats, nothing missing against what was committed after the reader's starting point.
    const ids = seen.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    const committed = await env.DB.prepare("SELECT id FROM events WHERE seq > ? ORDER BY seq").bind(startSeq).all<{ id: string }>();
    expect(ids).toEqual(committed.results.map((row) => row.id));
    // Renewals always apply: at least three new events per instance.
    expect(seen.length).toBeGreaterThanOrEqual(INSTANCES * 3);

    for (const instanceId of instanceIds) {
      const mine = seen.filter((event) => event.instanceId === instanceId);
      // Per instance in order: each event carries the version it produced, strictly increasing in feed order.
      const versions = mine.map((event) => event.data.version);
      for (let i = 1; i < versions.length; i += 1) expect(versions[i]).toBeGreaterThan(versions[i - 1] ?? 0);
      expect(mine.filter((event) => event.type === "instance.renewed")).toHaveLength(3);

      // The webhook carried the same objects, in the same order.
      const rows = await waitForOutbox(instanceId, (r) => allDelivered(2 + mine.length)(r), 15_000);
      const acked = await acknowledged(instanceId);
      expect(acked.map((d) => d.webhookId)).toEqual(rows.map((row) => row.id));
      const deliveredAfterStart = acked.slice(2).map((d) => d.event);
      expect(deliveredAfterStart).toEqual(mine);
      expect((await outboxOf(instanceId)).map((row) => JSON.parse(row.body))).toEqual(acked.map((d) => d.event));
    }
  });
});
