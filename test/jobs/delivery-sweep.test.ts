import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { overdueStreams } from "../../src/events/outbox";
import { MAX_STREAMS_PER_RUN, OVERDUE_AFTER_MS } from "../../src/jobs/delivery-sweep.job";
import { uniqueId } from "../support/marketplace";

const NOW = Date.UTC(2031, 4, 2, 12, 0);

async function addPendingEvent(stream: string, nextAttemptAt: number): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO events (id, type, stream, instance_id, is_test, body, delivery_state, attempts, next_attempt_at, created_at, updated_at)
     VALUES (?, 'instance.created', ?, ?, 0, '{}', 'pending', 1, ?, ?, ?)`,
  )
    .bind(uniqueId("evt"), stream, stream, nextAttemptAt, nextAttemptAt, nextAttemptAt)
    .run();
}

describe("the delivery sweep's pick of overdue streams", () => {
  it("takes the streams due longest first, so a stream whose alarm was lost during a long outage is never starved by more recent ones", async () => {
    const prefix = uniqueId("sweep-");
    // The stream whose alarm was lost a day ago sorts last by name and was written last.
    const lost = `${prefix}-zz-lost`;
    const recent = Array.from({ length: MAX_STREAMS_PER_RUN }, (_, i) => `${prefix}-a${String(i).padStart(3, "0")}`);
    await env.DB.batch(
      recent.map((stream, i) =>
        env.DB.prepare(
          `INSERT INTO events (id, type, stream, instance_id, is_test, body, delivery_state, attempts, next_attempt_at, created_at, updated_at)
           VALUES (?, 'instance.created', ?, ?, 0, '{}', 'pending', 1, ?, ?, ?)`,
        ).bind(uniqueId("evt"), stream, stream, NOW - OVERDUE_AFTER_MS - 1000 - i, NOW, NOW),
      ),
    );
    await addPendingEvent(lost, NOW - 24 * 3600_000);

    const picked = await overdueStreams(getDb(env), NOW - OVERDUE_AFTER_MS, MAX_STREAMS_PER_RUN);
    expect(picked).toHaveLength(MAX_STREAMS_PER_RUN);
    expect(picked[0]).toBe(lost);
    // The rest in order of their oldest due event: the last-written of the recent ones is the oldest of them.
    expect(picked.slice(1, 3)).toEqual([recent[MAX_STREAMS_PER_RUN - 1], recent[MAX_STREAMS_PER_RUN - 2]]);
  });
});
