import { env } from "cloudflare:workers";

/**
 * How much background work is due at `now` (`n`): webhook deliveries, order fetches the instance, order and license-code
 * actors' alarms run at once, alerts the operations actor sends. Work scheduled for later (a retry in 30 s) does not count.
 */
export function dueWorkStatement(db: D1Database, now: number): D1PreparedStatement {
  return db
    .prepare(
      `SELECT (SELECT COUNT(*) FROM events WHERE delivery_state = 'pending' AND next_attempt_at <= ?1)
            + (SELECT COUNT(*) FROM orders WHERE fetch_state = 'pending' AND next_fetch_at <= ?1)
            + (SELECT COUNT(*) FROM general_orders WHERE state = 'received' AND next_fetch_at <= ?1)
            + (SELECT COUNT(*) FROM license_code_orders WHERE fetch_state = 'pending' AND next_fetch_at <= ?1)
            + (SELECT COUNT(*) FROM problems WHERE alert_next_at <= ?1) AS n`,
    )
    .bind(now);
}

/** Waits until no background work is due (dueWorkStatement), or `timeoutMs` passed. Resolves to whether any was due. */
export async function settleBackgroundWork(timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; ; round++) {
    const now = Date.now();
    const due = await dueWorkStatement(env.DB, now).first<{ n: number }>();
    if (!due?.n || now > deadline) return round > 0 || Boolean(due?.n);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
