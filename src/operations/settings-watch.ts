import { getDb } from "../db/client";
import { settingsProblem } from "../env";
import { alertConfigOf } from "./alert-settings";
import { type ProblemReport, clearProblem, openSubjects, reportProblem } from "./problems";

/** settings.invalid's subjects: the gateway's own settings, and the alert settings (which never stop the gateway). */
export const SETTINGS_SUBJECT = "settings";
export const ALERT_SETTINGS_SUBJECT = "alert settings";

/**
 * settings.invalid, noticed where settings are read without a request to fail: /healthz, GET /admin/api/health and
 * each cron run. Opens (or counts) while a setting is broken, clears once it is valid again. One D1 read when all is
 * well; names the setting and its rule, never its value.
 */
export async function noticeSettings(env: Env, now: number): Promise<void> {
  const broken: ProblemReport[] = [];
  const core = settingsProblem(env);
  if (core) {
    broken.push({
      kind: "settings.invalid",
      subject: SETTINGS_SUBJECT,
      summary: `Setting ${core.setting} ${core.problem}: every Marketplace callback answers 000005 and the scheduled jobs stop.`,
      detail: `Fix ${core.setting} (npx wrangler secret put ${core.setting}, or [vars] in wrangler.toml) and deploy; GET /admin/api/health names the broken setting.`,
    });
  }
  const alerts = alertConfigOf(env);
  if (alerts.state === "invalid") {
    broken.push({
      kind: "settings.invalid",
      subject: ALERT_SETTINGS_SUBJECT,
      summary: `Setting ${alerts.setting} ${alerts.problem}: alerts are off (the gateway itself is not affected).`,
      detail: `Fix ${alerts.setting}; until then problems show only in the admin page and GET /admin/api/problems.`,
      severity: "warning",
    });
  }
  for (const report of broken) await reportProblem(env, report, now);
  const open = await openSubjects(getDb(env), "settings.invalid");
  for (const subject of [SETTINGS_SUBJECT, ALERT_SETTINGS_SUBJECT]) {
    if (open.has(subject) && !broken.some((report) => report.subject === subject)) await clearProblem(env, "settings.invalid", subject, now);
  }
}
