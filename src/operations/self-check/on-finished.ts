import type { SelfCheckRun } from "./self-check.types";

/**
 * Called after every self-check run, from the route, the CLI's POST and the crons alike: the place where a failed run
 * opens (and a passing one resolves) the `self_check.failed` problem. Nothing to do until the problems list exists.
 */
export async function onSelfCheckFinished(_env: Env, _run: SelfCheckRun, _now: number): Promise<void> {}
