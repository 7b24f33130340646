import { verifyBodySign } from "../../../protocol/body-sign";
import { type V1EncryptType, decryptV1Field } from "../../../protocol/v1-field-crypto";
import type { DebugAnswer } from "./in-process";

/*
 * What the Marketplace's debugger checks in an answer (saas-production-interface §2.1 point 8, §2.4, §3, §5), one
 * function per rule, each returning the problems found (empty when the answer passes). The same rules as
 * `npm run simulate` (tools/conformance/checks.ts), for answers read in-process.
 */

/** An answer's body as the debugger reads it: a JSON object, or null for anything else (an array, text, HTML). */
export function jsonObjectOf(text: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** HTTP 200, application/json, a JSON object with a six-digit resultCode and a resultMsg, a Body-Sign with `key`. */
export function transportProblems(answer: DebugAnswer, key: string): string[] {
  const problems: string[] = [];
  if (answer.status !== 200) problems.push(`HTTP ${answer.status}`);
  if (!/^application\/json\b/i.test(answer.contentType)) problems.push(`Content-Type "${answer.contentType}" (must be application/json)`);
  if (!answer.json) return [...problems, "the body is not a JSON object"];
  if (typeof answer.json.resultCode !== "string" || !/^\d{6}$/.test(answer.json.resultCode)) problems.push("resultCode is not 6 digits");
  if (typeof answer.json.resultMsg !== "string") problems.push("no resultMsg");
  else if (answer.json.resultMsg.length > 255) problems.push("resultMsg longer than 255");
  if (!answer.bodySign) problems.push("no Body-Sign header");
  else if (!verifyBodySign(key, answer.text, answer.bodySign)) problems.push("Body-Sign does not verify with this interface's key");
  return problems;
}

export function codeProblems(answer: DebugAnswer, expected: readonly string[]): string[] {
  const code = answer.json?.resultCode;
  if (typeof code === "string" && expected.includes(code)) return [];
  const message = typeof answer.json?.resultMsg === "string" ? ` (${answer.json.resultMsg.slice(0, 120)})` : "";
  return [`resultCode ${String(code)}, expected ${expected.join(" or ")}${message}`];
}

function stringField(value: unknown, name: string, max: number, required = true): string[] {
  if (value === undefined || value === null) return required ? [`no ${name}`] : [];
  if (typeof value !== "string" || value === "") return [`${name} is not a non-empty string`];
  return value.length > max ? [`${name} longer than ${max}`] : [];
}

function urlField(value: unknown, name: string, required: boolean): string[] {
  const problems = stringField(value, name, 512, required);
  if (problems.length > 0 || typeof value !== "string") return problems;
  return /^https?:\/\/\S+$/.test(value) ? [] : [`${name} is not an http(s) URL`];
}

/** newInstance (§3.1, §5.3): instanceId, at most 64 characters. */
export function createProblems(answer: DebugAnswer): string[] {
  return stringField(answer.json?.instanceId, "instanceId", 64);
}

/** queryInstance (§3.2): info[] with the asked instance, whose appInfo has an http(s) frontEndUrl. */
export function queryProblems(answer: DebugAnswer, instanceId: string): string[] {
  const entry = infoEntry(answer, instanceId);
  if (!entry) return [`info[] has no entry for ${instanceId}`];
  const appInfo = entry.appInfo as Record<string, unknown> | undefined;
  if (!appInfo || typeof appInfo !== "object") return ["no appInfo"];
  return [...urlField(appInfo.frontEndUrl, "appInfo.frontEndUrl", true), ...urlField(appInfo.adminUrl, "appInfo.adminUrl", false), ...stringField(appInfo.userName, "appInfo.userName", 128, false)];
}

export function infoEntry(answer: DebugAnswer, instanceId: string): Record<string, unknown> | undefined {
  const info = answer.json?.info;
  if (!Array.isArray(info)) return undefined;
  return info.find((item: unknown) => (item as { instanceId?: unknown } | null)?.instanceId === instanceId) as Record<string, unknown> | undefined;
}

/** V1 appInfo (§5.2, §5.3): encryptType as configured, a frontEndUrl, userName/password that decrypt with the key. */
export function v1AppInfoProblems(json: Record<string, unknown> | null, appInfo: unknown, key: string, encryptType: V1EncryptType): string[] {
  const problems: string[] = [];
  if (json?.encryptType !== undefined && json.encryptType !== encryptType) problems.push(`encryptType ${String(json.encryptType)}, V1_ENCRYPT_TYPE is ${encryptType}`);
  if (!appInfo || typeof appInfo !== "object") return [...problems, "no appInfo"];
  const app = appInfo as Record<string, unknown>;
  problems.push(...urlField(app.frontEndUrl, "appInfo.frontEndUrl", true));
  for (const field of ["userName", "password"] as const) {
    const value = app[field];
    if (value === undefined) continue;
    const shape = stringField(value, `appInfo.${field}`, 128);
    if (shape.length > 0) {
      problems.push(...shape);
      continue;
    }
    try {
      if (decryptV1Field(key, String(value), encryptType, field) === "") problems.push(`appInfo.${field} decrypts to an empty string`);
    } catch {
      problems.push(`appInfo.${field} does not decrypt with SAAS_ACCESS_KEY and encryptType ${encryptType}`);
    }
  }
  return problems;
}
