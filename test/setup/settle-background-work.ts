import { afterAll } from "vitest";
import { settleBackgroundWork } from "../support/background-work";

/*
 * Instance actors keep working after a test's last request: their alarms fetch orders and deliver webhooks at once.
 * A Durable Object that logs while the test file is being torn down stalls the pool's teardown for good (workerd
 * console forwarding, cf. cloudflare/workers-sdk#14180), so each file waits until no background work is due before
 * it ends. Work scheduled for later (a retry in 30 s) never runs in a test's lifetime and does not matter here.
 */
afterAll(async () => {
  await settleBackgroundWork(5_000);
  // The last attempt's bookkeeping and log line finish just after its row changed.
  await new Promise((resolve) => setTimeout(resolve, 150));
});
