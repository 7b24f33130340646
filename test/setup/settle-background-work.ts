import { env } from "cloudflare:workers";
import { afterAll } from "vitest";

/*
 * Instance actors keep working after a test's last request: their alarms fetch orders and deliver webhooks at once.
 * A Durable Object that logs while the test file is being torn down stalls the pool's teardown for good (workerd
 * console forwarding, cf. cloudflare/workers-sdk#14180), so each file waits until no background work is due before
 * it ends. Work scheduled for later (a retry in 30 s) never runs in a test's lifetime and does not matter here.
 */
afterAll(async () => {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const now = Date.now();
    const due = await env.DB.prepare(
      `SELECT (SELECT COUNT(*) FROM events WHERE delivery_state = 'pending' AND next_attempt_at <= ?1)
            + (SELECT COUNT(*) FROM orders WHERE fetch_state = 'pending' AND next_fetch_at <= ?1)
            + (SELECT COUNT(*) FROM general_orders WHERE state = 'received' AND next_fetch_at <= ?1) AS n`,
    )
      .bind(now)
      .first<{ n: number }>();
    if (!due?.n || now > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // The last attempt's bookkeeping and log line finish just after its row changed.
  await new Promise((resolve) => setTimeout(resolve, 150));
});
