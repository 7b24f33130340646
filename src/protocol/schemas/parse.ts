import type { z } from "zod";
import { InvalidRequestError } from "../errors";
import {
  AllOrgSync,
  AllOrgSyncV1,
  ApplicationSync,
  ApplicationSyncV1,
  AuthSync,
  AuthSyncV1,
  type KitRequest,
  type KitVersion,
  SingleOrgSync,
  SingleOrgSyncV1,
  TenantSync,
  TenantSyncV1,
} from "./kit.schema";
import { LICENSE_ACTIVITIES, LicenseRequest } from "./license.schema";
import { OrderNotify } from "./order-notify.schema";
import { V1_BASIC_ACTIVITIES, V1BasicRequest } from "./v1-basic.schema";
import { V2_BASIC_ACTIVITIES, V2BasicRequest } from "./v2-basic.schema";

/*
 * The one way from a decoded body (or V1 query parameters) to a typed request. Every failure is an
 * InvalidRequestError (000002) whose message names the first failing field and what is wrong, fits resultMsg
 * (String(255)) and never quotes a submitted value except an unknown activity or kit name.
 */

/** resultMsg is String(255) in every interface. */
const MAX_MESSAGE_LENGTH = 255;
/** How much of an unknown activity or kit name a message repeats. */
const MAX_QUOTED_NAME = 64;

export function parseV2BasicRequest(json: unknown): V2BasicRequest {
  const body = requireObject(json);
  requireActivity(body, V2_BASIC_ACTIVITIES);
  return parseWith(V2BasicRequest, body);
}

/** V1 GET: the decoded query parameters (a servlet's getParameterMap, first value of each). */
export function parseV1BasicRequest(params: Record<string, string>): V1BasicRequest {
  const body = requireObject(params);
  requireActivity(body, V1_BASIC_ACTIVITIES);
  return parseWith(V1BasicRequest, body);
}

/** `name` is the last path segment (`/produceAPI/v2/<name>` or `/produceAPI/<name>`), `version` which prefix it had. */
export function parseKitRequest(name: string, version: KitVersion, json: unknown): KitRequest {
  const body = requireObject(json);
  const v1 = version === "v1";
  switch (name) {
    case "tenantSync":
      return { name, version, request: parseWith(v1 ? TenantSyncV1 : TenantSync, body) };
    case "applicationSync":
      return { name, version, request: parseWith(v1 ? ApplicationSyncV1 : ApplicationSync, body) };
    case "authSync":
      return { name, version, request: parseWith(v1 ? AuthSyncV1 : AuthSync, body) };
    case "singleOrgSync":
      return { name, version, request: parseWith(v1 ? SingleOrgSyncV1 : SingleOrgSync, body) };
    case "allOrgSync":
      return { name, version, request: parseWith(v1 ? AllOrgSyncV1 : AllOrgSync, body) };
    default:
      throw new InvalidRequestError(limit(`unknown kit interface ${quote(name)}`));
  }
}

export function parseLicenseRequest(json: unknown): LicenseRequest {
  const body = requireObject(json);
  requireActivity(body, LICENSE_ACTIVITIES);
  return parseWith(LicenseRequest, body);
}

export function parseOrderNotify(json: unknown): OrderNotify {
  const body = requireObject(json);
  // A SaaS activity here is a product registered with the wrong production URL: say which URL takes what.
  requireActivity(body, ["orderNotify"], "this URL (POST /orders) takes orderNotify only");
  return parseWith(OrderNotify, body);
}

// ---- internals ------------------------------------------------------------------------------------------------------

function requireObject(json: unknown): Record<string, unknown> {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new InvalidRequestError("request body is not a JSON object");
  }
  return json as Record<string, unknown>;
}

function requireActivity(body: Record<string, unknown>, known: readonly string[], hint?: string): void {
  const activity = body["activity"];
  if (typeof activity !== "string" || activity === "") throw new InvalidRequestError("missing activity");
  if (!known.includes(activity)) throw new InvalidRequestError(limit(`unknown activity ${quote(activity)}${hint ? `: ${hint}` : ""}`));
}

function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const issues = result.error.issues;
  const first = issues[0];
  const message = first ? describeIssue(first) : "invalid request";
  // The log detail lists every failing path and kind, never a value.
  const detail = issues
    .slice(0, 10)
    .map((issue) => `${pathOf(issue.path)} ${issue.code}`)
    .join("; ");
  throw new InvalidRequestError(limit(message), detail);
}

/** `userList[3].role`; the root is "request". */
function pathOf(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "request" : out;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  return `${pathOf(issue.path)}: ${problemOf(issue)}`;
}

function problemOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined || issue.input === null) return "required";
      return `expected ${issue.expected}, got ${kindOf(issue.input)}`;
    case "too_big":
      if (issue.origin === "string") return `too long (max ${issue.maximum})`;
      if (issue.origin === "array") return `too many items (max ${issue.maximum})`;
      return `too large (max ${issue.maximum})`;
    case "too_small":
      if (issue.origin === "string") return issue.minimum === 1 ? "must not be empty" : `too short (min ${issue.minimum})`;
      if (issue.origin === "array") return `too few items (min ${issue.minimum})`;
      return `too small (min ${issue.minimum})`;
    case "invalid_value":
      if (issue.input === undefined || issue.input === null) return "required";
      return `must be ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}`;
    case "invalid_union":
      return "invalid value";
    default:
      // custom and invalid_format: our schemas set a short message that does not quote the value.
      return issue.message;
  }
}

function quote(name: string): string {
  return JSON.stringify(name.length > MAX_QUOTED_NAME ? `${name.slice(0, MAX_QUOTED_NAME)}…` : name);
}

function limit(message: string): string {
  return message.length <= MAX_MESSAGE_LENGTH ? message : `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}
