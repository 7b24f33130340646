import type { Answer } from "./client";
import { specBodySign } from "./spec-signatures";

/*
 * What the Marketplace's debugger checks in an answer (saas-production-interface §2.1 point 8, §2.4, §3, §8), one
 * function per rule; each returns the problems found, empty when the answer passes.
 */

/** HTTP 200, application/json, a JSON object with resultCode (6 characters) and resultMsg, Body-Sign with `key`. */
export function transportProblems(answer: Answer, key: string): string[] {
  if (answer.error) return [answer.error];
  const problems: string[] = [];
  if (answer.status !== 200) problems.push(`HTTP ${answer.status}${answer.status === 404 ? " (route not served)" : ""}`);
  if (!/^application\/json\b/i.test(answer.contentType)) problems.push(`Content-Type "${answer.contentType}" (must be application/json)`);
  if (!answer.json) return [...problems, `body is not a JSON object: ${snippet(answer.text)}`];
  if (typeof answer.json.resultCode !== "string" || !/^\d{6}$/.test(answer.json.resultCode)) problems.push(`resultCode ${JSON.stringify(answer.json.resultCode)} (must be 6 digits)`);
  if (typeof answer.json.resultMsg !== "string") problems.push("no resultMsg");
  else if (answer.json.resultMsg.length > 255) problems.push(`resultMsg longer than 255 (${answer.json.resultMsg.length})`);
  if (!answer.bodySign) problems.push("no Body-Sign header");
  else if (answer.bodySign !== specBodySign(key, answer.text)) {
    problems.push(/^sign_type="HMAC-SHA256", signature="[A-Za-z0-9+/=]+"$/.test(answer.bodySign) ? "Body-Sign does not verify with this interface's key" : `Body-Sign malformed: ${answer.bodySign.slice(0, 80)}`);
  }
  return problems;
}

/** The result code is one of `expected` (the message is shown when it is not). */
export function codeProblems(answer: Answer, expected: readonly string[]): string[] {
  const code = answer.json?.resultCode;
  if (typeof code === "string" && expected.includes(code)) return [];
  return [`resultCode ${String(code)}, expected ${expected.join(" or ")}${answer.json?.resultMsg ? ` (${String(answer.json.resultMsg)})` : ""}`];
}

function stringField(value: unknown, name: string, max: number, required = true): string[] {
  if (value === undefined || value === null) return required ? [`no ${name}`] : [];
  if (typeof value !== "string" || value === "") return [`${name} is not a non-empty string`];
  if (value.length > max) return [`${name} longer than ${max} (${value.length})`];
  return [];
}

function urlField(value: unknown, name: string, required: boolean): string[] {
  const problems = stringField(value, name, 512, required);
  if (problems.length > 0 || typeof value !== "string") return problems;
  return /^https?:\/\/[^\s]+$/.test(value) ? [] : [`${name} is not an http(s) URL: ${value.slice(0, 80)}`];
}

/** V2 newInstance (§3.1): instanceId, ≤ 64. */
export function createProblems(answer: Answer): string[] {
  return stringField(answer.json?.instanceId, "instanceId", 64);
}

/** V2 queryInstance (§3.2): info[] with the asked instanceId, appInfo.frontEndUrl ≤ 512, usageInfo complete. */
export function queryProblems(answer: Answer, instanceId: string): string[] {
  const info = answer.json?.info;
  if (!Array.isArray(info)) return ["no info[]"];
  const entry = info.find((item: unknown) => (item as { instanceId?: unknown } | null)?.instanceId === instanceId) as Record<string, unknown> | undefined;
  if (!entry) return [`info[] has no entry for ${instanceId}`];
  const problems: string[] = [];
  const appInfo = entry.appInfo as Record<string, unknown> | undefined;
  if (appInfo !== undefined) {
    problems.push(...urlField(appInfo.frontEndUrl, "appInfo.frontEndUrl", true), ...urlField(appInfo.adminUrl, "appInfo.adminUrl", false));
    problems.push(...stringField(appInfo.userName, "appInfo.userName", 128, false), ...stringField(appInfo.password, "appInfo.password", 128, false));
    problems.push(...stringField(appInfo.memo, "appInfo.memo", 1024, false));
  }
  const usage = entry.usageInfo;
  if (usage !== undefined) {
    if (!Array.isArray(usage)) problems.push("usageInfo is not a list");
    else
      for (const [i, item] of usage.entries()) {
        const row = item as Record<string, unknown>;
        if (row.usageValue === undefined) problems.push(`usageInfo[${i}] has no usageValue`);
        if (typeof row.statisticalTime !== "string" || !/^\d{17}$/.test(row.statisticalTime)) problems.push(`usageInfo[${i}].statisticalTime is not yyyyMMddHHmmssSSS`);
      }
  }
  return problems;
}

/**
 * V1 newInstance and queryInstance answers (§5.2, §5.3): encryptType as configured, frontEndUrl ≤ 512, and
 * userName/password (16-character IV + Base64 AES-CBC, ≤ 128) that decrypt with the access key. The gateway's own
 * self-check reads its V1 answers by the same rule, so there is one copy of it.
 */
export { v1AppInfoProblems } from "../../src/operations/self-check/interfaces/debugger-rules";

export function snippet(text: string, length = 120): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > length ? `${flat.slice(0, length)}…` : flat;
}
