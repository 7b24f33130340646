import { getDb } from "../../db/client";
import { settingsProblem } from "../../env";
import { log } from "../../observability/log";
import { type ScheduledJob, jobsCheck } from "./checks/jobs.check";
import { kitInterfaceCheck, licenseInterfaceCheck, ordersInterfaceCheck, saasInterfaceCheck, v1InterfaceCheck } from "./checks/interface.check";
import { marketplaceCredentialsCheck } from "./checks/marketplace-credentials.check";
import { publicUrlCheck } from "./checks/public-url.check";
import { sellerWebhookCheck } from "./checks/seller-webhook.check";
import { settingsCheck } from "./checks/settings.check";
import { onSelfCheckFinished } from "./on-finished";
import { firstSelfCheckAt, saveRun } from "./self-check.repo";
import { CHECK_NAMES, type CheckName, type CheckOutcome, type CheckResult, type SelfCheckRun, type SelfCheckScope, TRACELESS_CHECKS, failed, skipped } from "./self-check.types";

export interface SelfCheckOptions {
  scope: SelfCheckScope;
  /** Every scheduled job with its interval (src/schedule.ts), passed in so this module never imports the schedule. */
  jobs: readonly ScheduledJob[];
}

type Check = (env: Env, now: number, options: SelfCheckOptions) => Promise<CheckOutcome> | CheckOutcome;

const CHECKS: Record<CheckName, Check> = {
  settings: (env) => settingsCheck(env),
  "marketplace.credentials": (env) => marketplaceCredentialsCheck(env),
  "interface.saas": (env) => saasInterfaceCheck(env),
  "interface.kit": (env) => kitInterfaceCheck(env),
  "interface.license": (env) => licenseInterfaceCheck(env),
  "interface.orders": (env) => ordersInterfaceCheck(env),
  "interface.v1": (env) => v1InterfaceCheck(env),
  "seller.webhook": (env, now) => sellerWebhookCheck(env, now),
  jobs: async (env, now, options) => {
    const db = getDb(env);
    return jobsCheck(db, now, options.jobs, await firstSelfCheckAt(db, now));
  },
  public_url: (env) => publicUrlCheck(env),
};

/** The checks that read nothing but the raw settings; the others need them parsed. */
const WITHOUT_SETTINGS = new Set<CheckName>(["settings", "jobs", "public_url"]);

/**
 * One self-check run: the checks of its scope at once (the interface.* ones only in a full run), each timed, each
 * failure caught and reported as that check's, the run stored, then onSelfCheckFinished. Never throws for a failed
 * check: the answer says what failed.
 */
export async function runSelfCheck(env: Env, now: number, options: SelfCheckOptions): Promise<SelfCheckRun> {
  const started = Date.now();
  const broken = settingsProblem(env);
  const checks = await Promise.all(
    CHECK_NAMES.map(async (name): Promise<CheckResult> => {
      const begun = Date.now();
      const outcome = await outcomeOf(name, env, now, options, broken?.setting);
      return { name, ...outcome, ms: Date.now() - begun };
    }),
  );
  const run: SelfCheckRun = { ok: checks.every((check) => check.skipped || check.ok), ranAt: new Date(now).toISOString(), durationMs: Date.now() - started, checks };
  await saveRun(getDb(env), run, options.scope, now);
  const failures = checks.filter((check) => !check.ok).map((check) => check.name);
  log(run.ok ? "info" : "warn", "self_check.finished", { scope: options.scope, ok: run.ok, failed: failures.join(",") || undefined, ms: run.durationMs });
  await onSelfCheckFinished(env, run, now);
  return run;
}

async function outcomeOf(name: CheckName, env: Env, now: number, options: SelfCheckOptions, brokenSetting: string | undefined): Promise<CheckOutcome> {
  if (options.scope === "hourly" && !TRACELESS_CHECKS.includes(name)) return skipped("runs on demand and once a day (the hourly run leaves no trace)");
  if (brokenSetting && !WITHOUT_SETTINGS.has(name)) return skipped(`not run: setting ${brokenSetting} is invalid (see the settings check)`);
  try {
    return await CHECKS[name](env, now, options);
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    log("error", "self_check.check_failed", { check: name, error: reason });
    return failed(`the check itself failed: ${reason.slice(0, 300)}`, "An unexpected error, not a setting: see the self_check.check_failed log line and report it.");
  }
}
