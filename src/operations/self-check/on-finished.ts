import { clearProblem, reportProblem } from "../problems";
import type { SelfCheckRun } from "./self-check.types";

/**
 * Called after every self-check run, from the route, the CLI's POST and the crons alike. One `self_check.failed`
 * problem per check (its name is the subject), so the hourly run, which leaves out the interface checks, neither
 * clears nor repeats what the daily run found about them: a check that ran and passed resolves its problem, a failed
 * one opens or counts on it, and a skipped one changes nothing.
 */
export async function onSelfCheckFinished(env: Env, run: SelfCheckRun, now: number): Promise<void> {
  for (const check of run.checks) {
    if (check.skipped) continue;
    if (check.ok) {
      await clearProblem(env, "self_check.failed", check.name, now);
      continue;
    }
    await reportProblem(
      env,
      {
        kind: "self_check.failed",
        subject: check.name,
        summary: `Self-check ${check.name} failed: ${check.detail}`,
        detail: check.fix ? `Fix: ${check.fix}` : "Run POST /admin/api/self-check for the details.",
      },
      now,
    );
  }
}
