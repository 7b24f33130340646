import { DurableObject } from "cloudflare:workers";
import type { Caller } from "../seller-api/seller-auth";
import { CLIENT_TOKEN_LIMIT, CODE_LIMITS, type LimitedAction, type WindowCount, type WindowRule, countCall } from "../license-codes/rate-limits";

export interface RateVerdict {
  allowed: boolean;
  retryAfterMs: number;
}

/**
 * Fixed-window call counters, one object per counted party (a license client token, a license code): the one state a
 * refused call may change. A Durable Object, not a D1 row, because a flood of calls with a leaked token must not
 * become a flood of writes to the D1 database every Marketplace callback depends on; the object answers from its
 * own storage, one call at a time (no await between read and write), and keeps the count across evictions.
 */
export class RateLimiter extends DurableObject<Env> {
  count(counter: string, rule: WindowRule, now: number): RateVerdict {
    const key = `window:${counter}`;
    const verdict = countCall(this.ctx.storage.kv.get<WindowCount>(key), rule, now);
    this.ctx.storage.kv.put(key, verdict.next);
    return { allowed: verdict.allowed, retryAfterMs: verdict.retryAfterMs };
  }
}

/** A refused call: what to tell the caller, and when to come back (Retry-After, whole seconds). */
export interface RateRefusal {
  error: string;
  retryAfterSeconds: number;
}

const refusal = (verdict: RateVerdict, error: string): RateRefusal | undefined =>
  verdict.allowed ? undefined : { error, retryAfterSeconds: Math.max(1, Math.ceil(verdict.retryAfterMs / 1000)) };

function getRateLimiter(env: Env, name: string) {
  return env.RATE_LIMITS.get(env.RATE_LIMITS.idFromName(name));
}

/**
 * A license client token's share of the seller's open-API quota; the seller's own token is not counted here (its
 * calls are counted per code). Checked first, before the code is even looked up.
 */
export async function admitClient(env: Env, caller: Caller, now: number): Promise<RateRefusal | undefined> {
  if (caller.kind !== "license-client") return undefined;
  const rule = CLIENT_TOKEN_LIMIT;
  const verdict = await getRateLimiter(env, `client:${caller.generation}:${caller.productId}`).count("calls", rule, now);
  return refusal(verdict, `this license client token made more than ${rule.limit} license-code calls within ${rule.windowMs / 1000} s`);
}

/** A code's share, per action, for every caller. */
export async function admitCode(env: Env, code: string, action: LimitedAction, now: number): Promise<RateRefusal | undefined> {
  const rule = CODE_LIMITS[action];
  const verdict = await getRateLimiter(env, `code:${code}`).count(action, rule, now);
  return refusal(verdict, `license code ${code} made more than ${rule.limit} ${action} calls within ${rule.windowMs / 60_000} minutes`);
}
