import { env } from "cloudflare:workers";

/*
 * How hard the reliability suite pushes.
 *
 * `full` (the default of `npm run test:reliability`) fuzzes each interface up to 10,000 cases within a time budget:
 * each share of the interfaces (one test file, one core) has FUZZ_SHARE_MINUTES (11), and each interface in turn gets the
 * share's remaining time divided by the interfaces still to come, so the time a cheap interface leaves unused (it
 * reached 10,000 early) goes to the ones after it. Why a budget and not a smaller fixed count: measured on the 2-core
 * machine shared by seven sessions (December 2026), a case costs from ~1 ms (static documents) through 3-9 ms (most
 * routes, flat over 10,000 cases since the change log replaced the table digests) to ~60 ms (admin health) and
 * ~170 ms (a whole self-check per POST); 10,000 of each of the 57 interfaces is about 45 minutes per core, past the
 * 20 minutes the run must fit. The whole full run, the simulated day included, took 12.6 minutes on the quiet machine
 * (296,173 cases over 57 interfaces; 52,835 at load 6-10). A fixed count small enough for the slowest route and the slowest machine would throw
 * away most of the cheap routes' cases; the budget runs as many as the machine affords, and the summary
 * (support/summary-reporter.ts) prints how many each interface got.
 *
 * `ci` (RELIABILITY_PROFILE=ci, the stage in .ci/run) runs exactly 100 cases per interface, with no budget.
 * RELIABILITY_SEED replays one run of fast-check (the failing seed is printed with every counterexample): the same
 * seed gives the same cases in the same order, so a replay reaches the failure as long as the budget lets it run as far.
 * RELIABILITY_ONLY (part of an interface's name) and RELIABILITY_CASES fuzz a chosen interface at a chosen count, with
 * no budget: to measure one route's cost per case, or to replay its failure past the budget.
 */
export type Profile = "full" | "ci";

export const profile: Profile = env.RELIABILITY_PROFILE === "ci" ? "ci" : "full";

export const FUZZ_RUNS_PER_INTERFACE = env.RELIABILITY_CASES ? Number(env.RELIABILITY_CASES) : profile === "full" ? 10_000 : 100;

/** Only the interfaces whose name contains this (RELIABILITY_ONLY): to measure or replay one of them. */
export const only: string | undefined = env.RELIABILITY_ONLY || undefined;

/**
 * Minutes of fuzzing per share (test file, one per core) in the full profile; RELIABILITY_FUZZ_MINUTES changes it.
 * 11 leaves the rest of the 20 minutes for starting the runtime, the storms and the fault runs (the simulated day at
 * scale alone took 2-4 minutes on the shared machine), should they run after the fuzzing rather than beside it.
 */
export const FUZZ_SHARE_MINUTES = env.RELIABILITY_FUZZ_MINUTES ? Number(env.RELIABILITY_FUZZ_MINUTES) : 11;

/** Whether the fuzz properties are time-boxed: the full profile, unless a count was asked for (RELIABILITY_CASES). */
export const FUZZ_BUDGETED = profile === "full" && !env.RELIABILITY_CASES;

/** Concurrency storms: orders per storm and concurrent clients. */
export const STORM = profile === "full" ? { orders: 12, callsPerOrder: 60 } : { orders: 4, callsPerOrder: 30 };

export const seed: number | undefined = env.RELIABILITY_SEED ? Number(env.RELIABILITY_SEED) : undefined;

/** Long properties: vitest's per-test timeout scaled to the profile. */
export const PROPERTY_TIMEOUT_MS = profile === "full" ? 1_800_000 : 240_000;
