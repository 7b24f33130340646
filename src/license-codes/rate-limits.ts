/*
 * What one client may cost (docs/license-rules.md rule 4). activate, heartbeat and software-usage each spend the
 * seller's open-API quota at the Marketplace, and license client tokens ship inside installed software, so a buyer
 * (or anyone who copied a token) could spend it for everyone. Fixed windows, counted in Durable Objects
 * (src/actor/rate-limiter.actor.ts): one per license client token and one per code. Every limit on what a client may
 * cost is here, the usage queue's cap per code included.
 */

export type LimitedAction = "activate" | "heartbeat" | "softwareUsage";

export interface WindowRule {
  limit: number;
  windowMs: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * Per license client token, the three actions together. A token is one product's (every installation shares it), so
 * this is the product's ceiling: 600 a minute is a daily heartbeat of about 860,000 installations spread over the day,
 * several times a morning's peak of a large one; past it a leaked token spends no more of the seller's quota.
 */
export const CLIENT_TOKEN_LIMIT: WindowRule = { limit: 600, windowMs: MINUTE_MS };

/**
 * Per code, whoever calls (the seller's backend too: a loop there spends the same quota). activate is once per
 * installation, heartbeat daily per device (§2.4 L2), software usage every few minutes at most.
 */
export const CODE_LIMITS: Readonly<Record<LimitedAction, WindowRule>> = {
  activate: { limit: 10, windowMs: HOUR_MS },
  heartbeat: { limit: 60, windowMs: HOUR_MS },
  softwareUsage: { limit: 60, windowMs: HOUR_MS },
};

/**
 * Unsent software-usage rows one code may have in the queue (docs/license-rules.md rule 3): a day of reports every few
 * minutes several times over, while a Marketplace outage lasts; past it the software is told to wait (429), so one
 * client cannot fill D1.
 */
export const MAX_PENDING_USAGE_PER_CODE = 1000;

/** One window's count; windows start at multiples of windowMs (UTC), so every counter agrees when a window ends. */
export interface WindowCount {
  start: number;
  count: number;
}

export interface WindowVerdict {
  allowed: boolean;
  /** Refused: milliseconds until the window ends. */
  retryAfterMs: number;
  next: WindowCount;
}

/** Counts one call in its window; a refused call is counted too (it is the same caller asking again too soon). */
export function countCall(current: WindowCount | undefined, rule: WindowRule, now: number): WindowVerdict {
  const start = now - (now % rule.windowMs);
  const count = (current?.start === start ? current.count : 0) + 1;
  return { allowed: count <= rule.limit, retryAfterMs: start + rule.windowMs - now, next: { start, count } };
}
