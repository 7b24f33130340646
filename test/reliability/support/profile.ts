import { env } from "cloudflare:workers";

/*
 * How hard the reliability suite pushes. `full` (the default of `npm run test:reliability`) runs at least 10,000
 * fuzz cases per interface; `ci` (RELIABILITY_PROFILE=ci, the stage in .ci/run) 100, so CI stays quick.
 * RELIABILITY_SEED replays one run of fast-check exactly (the failing seed is printed with every counterexample).
 */
export type Profile = "full" | "ci";

export const profile: Profile = env.RELIABILITY_PROFILE === "ci" ? "ci" : "full";

export const FUZZ_RUNS_PER_INTERFACE = profile === "full" ? 10_000 : 100;

/** Concurrency storms: orders per storm and concurrent clients. */
export const STORM = profile === "full" ? { orders: 12, callsPerOrder: 60 } : { orders: 4, callsPerOrder: 30 };

export const seed: number | undefined = env.RELIABILITY_SEED ? Number(env.RELIABILITY_SEED) : undefined;

/** Long properties: vitest's per-test timeout scaled to the profile. */
export const PROPERTY_TIMEOUT_MS = profile === "full" ? 1_800_000 : 240_000;
