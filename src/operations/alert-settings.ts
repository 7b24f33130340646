import { z } from "zod";
import { featureSettingsIfValid, httpsOrLocalUrl } from "../env";
import { ProblemSeverity } from "./problem-kinds";

export const AlertFormat = z.enum(["json", "slack", "wecom", "dingtalk", "feishu"]);
export type AlertFormat = z.infer<typeof AlertFormat>;

/**
 * Alert settings are parsed apart from the gateway's own (src/env.ts): a malformed one turns alerts off and shows in
 * GET /admin/api/health and as settings.invalid ("alert settings"), but never makes a Marketplace callback answer
 * 000005. Alerts are a convenience for the operator; the purchase must not depend on them.
 */
const RawAlertSettings = z.object({
  ALERT_WEBHOOK_URL: httpsOrLocalUrl.optional(),
  ALERT_WEBHOOK_FORMAT: z.enum(AlertFormat.options, { message: "must be json, slack, wecom, dingtalk or feishu" }).default("json"),
  ALERT_MIN_SEVERITY: z.enum(ProblemSeverity.options, { message: 'must be "warning" or "critical"' }).default("warning"),
});

export interface AlertTarget {
  url: string;
  format: AlertFormat;
  minSeverity: ProblemSeverity;
}

export type AlertConfig =
  | { state: "on"; target: AlertTarget; publicUrl: string | undefined }
  | { state: "off"; publicUrl: string | undefined }
  | { state: "invalid"; setting: string; problem: string; publicUrl: string | undefined };

function read(env: object, name: string): unknown {
  const value = (env as Record<string, unknown>)[name];
  return typeof value === "string" && value.trim() === "" ? undefined : value;
}

/** Read on every use (cheap): tests and `wrangler dev` change bindings between requests of one isolate. */
export function alertConfigOf(env: object): AlertConfig {
  // A malformed PUBLIC_URL is named by the health (env.ts, the publicUrl group); here it only leaves the link out.
  const publicUrl = featureSettingsIfValid(env, "publicUrl")?.url;
  const parsed = RawAlertSettings.safeParse({
    ALERT_WEBHOOK_URL: read(env, "ALERT_WEBHOOK_URL"),
    ALERT_WEBHOOK_FORMAT: read(env, "ALERT_WEBHOOK_FORMAT"),
    ALERT_MIN_SEVERITY: read(env, "ALERT_MIN_SEVERITY"),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { state: "invalid", setting: String(issue?.path[0] ?? "ALERT_WEBHOOK_URL"), problem: issue?.message ?? "is invalid", publicUrl };
  }
  const raw = parsed.data;
  if (!raw.ALERT_WEBHOOK_URL) return { state: "off", publicUrl };
  return { state: "on", target: { url: raw.ALERT_WEBHOOK_URL, format: raw.ALERT_WEBHOOK_FORMAT, minSeverity: raw.ALERT_MIN_SEVERITY }, publicUrl };
}

/** Whether a problem of this severity is announced at all. */
export function loudEnough(severity: ProblemSeverity, minSeverity: ProblemSeverity): boolean {
  return minSeverity === "warning" || severity === "critical";
}
