import { getSettings, settingsProblem } from "../../../env";
import { type CheckOutcome, failed, passed } from "../self-check.types";

/** What GET /admin/api/health knows: every setting parses, combinations included (env.ts), named with its rule. */
export function settingsCheck(env: Env): CheckOutcome {
  const problem = settingsProblem(env);
  if (problem) {
    return failed(
      `setting ${problem.setting} ${problem.problem}; every callback answers 000005 and every cron job stops until it is fixed`,
      `Fix ${problem.setting}: a secret with \`npx wrangler secret put ${problem.setting}\` (.dev.vars locally), a variable in wrangler.toml [vars]; then deploy again. The README's Settings table gives each setting's format.`,
    );
  }
  const settings = getSettings(env);
  const served = [
    "V2 basic (/saas)",
    "kit syncs",
    "license callbacks (/license)",
    "order notifications (/orders)",
    ...(settings.enableV1 ? ["V1 (/saas/v1)"] : []),
  ];
  const webhook = settings.sellerWebhook ? "seller webhook set" : "no seller webhook (feed only)";
  return passed(`every setting is valid: ${served.join(", ")}; provisioning ${settings.provisioning.mode}, licenses ${settings.license.mode}, ${webhook}`);
}
