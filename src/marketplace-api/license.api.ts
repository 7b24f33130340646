import { z } from "zod";
import { COMPACT_UTC, formatCompactUtc } from "../protocol/time-formats";
import { type OpenApiCredentials, callOpenApi, failureOf, resultOf } from "./client";

/**
 * License-code (授权码) open APIs of the joint-operation License 2.0, spec marketplace-open-apis §2.4 (L1–L4).
 * activate and heartbeat use the documented v1 paths (the v2 batch variants' bodies are not published);
 * software-usage-info exists only as v2. An unchanged vN promises only backward-compatible changes, and new response
 * fields may appear (H16, L2): every answer is parsed with loose schemas and unknown fields are kept in `raw`.
 */
export const LICENSE_PATHS = {
  activate: "/api/mkp-openapi-public/global/v1/license/activate",
  heartbeat: "/api/mkp-openapi-public/global/v1/license/heartbeat",
  softwareUsage: "/api/mkp-openapi-public/global/v2/license/software-usage-info",
} as const;

/** L4. Failures: 92020001 unauthorized (403) or internal (500), 92020002 bad parameter, 92020004 code not yet
 * received by the user, 92020005 unknown code; retryable per errors.ts (only the 500 one). */
export const LICENSE_SUCCESS = "92020000";
/** L3: at most 100 licenses per software-usage call. */
export const MAX_SOFTWARE_USAGE_ENTRIES = 100;

const Text = z.union([z.string(), z.number()]).transform(String);

// nullish, not optional: Java senders write unset fields as null (a never-activated code's activate_time), and one
// null must not make the whole answer unreadable.
const LicenseCodeInfoShape = z.looseObject({
  status: Text.nullish(),
  expire_time: Text.nullish(),
  product_id: Text.nullish(),
  order_id: Text.nullish(),
  amount: z.coerce.number().nullish(),
});

const ActivateData = z.looseObject({
  // L1: a JSON document inside a string; an object is accepted too, in case the Marketplace ever stops double-encoding.
  license_code_info: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
});

const HeartbeatData = z.looseObject({
  license_code: Text.nullish(),
  status: Text.nullish(),
  activate_time: Text.nullish(),
  expire_time: Text.nullish(),
});

export interface ActivatedLicense {
  status: string | null;
  /** As sent; L1 calls it an estimate, the heartbeat has the real one. */
  expireTime: string | null;
  /** expireTime read as UTC yyyyMMddHHmmss, or null when it is missing or in another format. */
  expireAt: number | null;
  productId: string | null;
  orderId: string | null;
  amount: number | null;
  raw: Record<string, unknown>;
}

export interface LicenseHeartbeat {
  licenseCode: string | null;
  /** ALIVE, EXPIRED or RELEASED (L2); kept as a string so a new status does not break the call. */
  status: string | null;
  activateTime: string | null;
  activateAt: number | null;
  expireTime: string | null;
  expireAt: number | null;
  raw: Record<string, unknown>;
}

export type SoftwareUsageEntry = { id: string } | { activeNum: number };

export interface SoftwareUsage {
  license: string;
  /** L3: each entry is exactly one of a software instance id or a count of active users/devices. */
  entries: SoftwareUsageEntry[];
}

export interface LicenseCallOptions {
  timeoutMs?: number;
}

function compactUtcOrNull(text: string | null): number | null {
  if (text === null) return null;
  const checked = COMPACT_UTC.check(text);
  return checked.ok ? checked.epochMs : null;
}

async function callLicense(
  credentials: OpenApiCredentials,
  api: string,
  path: string,
  body: unknown,
  now: Date,
  options: LicenseCallOptions,
): Promise<Record<string, unknown>> {
  const { status, json } = await callOpenApi(
    credentials,
    { api, method: "POST", path, body: JSON.stringify(body), timeoutMs: options.timeoutMs },
    now,
  );
  if (resultOf(json).code !== LICENSE_SUCCESS) throw failureOf(api, status, json);
  return json;
}

function dataOf(json: Record<string, unknown>): unknown {
  return json.data ?? {};
}

/** 激活授权码 (L1). `realEffectTime` (epoch ms) must not be before the order time. */
export async function activateLicense(
  credentials: OpenApiCredentials,
  input: { license: string; realEffectTime?: number },
  now: Date,
  options: LicenseCallOptions = {},
): Promise<ActivatedLicense> {
  const body = {
    license: input.license,
    real_effect_time: input.realEffectTime === undefined ? undefined : formatCompactUtc(input.realEffectTime),
  };
  const json = await callLicense(credentials, "license.activate", LICENSE_PATHS.activate, body, now, options);
  const data = ActivateData.safeParse(dataOf(json));
  let info: unknown = data.success ? data.data.license_code_info : undefined;
  if (typeof info === "string") {
    try {
      info = JSON.parse(info);
    } catch {
      // The activation itself succeeded (the code says so); an unreadable detail must not turn it into a failure.
      info = undefined;
    }
  }
  const parsed = LicenseCodeInfoShape.safeParse(info ?? {});
  const fields = parsed.success ? parsed.data : {};
  const expireTime = fields.expire_time ?? null;
  return {
    status: fields.status ?? null,
    expireTime,
    expireAt: compactUtcOrNull(expireTime),
    productId: fields.product_id ?? null,
    orderId: fields.order_id ?? null,
    amount: fields.amount ?? null,
    raw: json,
  };
}

/**
 * 查询授权码 / heartbeat (L2): call on the first use of the software each day after activation. `heartbeatInfo` is
 * documented as being retired, so it is sent only when given.
 */
export async function licenseHeartbeat(
  credentials: OpenApiCredentials,
  input: { license: string; heartbeatInfo?: { thirdPartyAccount?: string; ip?: string } },
  now: Date,
  options: LicenseCallOptions = {},
): Promise<LicenseHeartbeat> {
  const body = { license: input.license, heartbeatInfo: input.heartbeatInfo };
  const json = await callLicense(credentials, "license.heartbeat", LICENSE_PATHS.heartbeat, body, now, options);
  const data = HeartbeatData.safeParse(dataOf(json));
  const fields = data.success ? data.data : {};
  const activateTime = fields.activate_time ?? null;
  const expireTime = fields.expire_time ?? null;
  return {
    licenseCode: fields.license_code ?? null,
    status: fields.status ?? null,
    activateTime,
    activateAt: compactUtcOrNull(activateTime),
    expireTime,
    expireAt: compactUtcOrNull(expireTime),
    raw: json,
  };
}

/** 授权码软件使用统计 (L3). Throws RangeError for input the Marketplace documents as invalid, before sending. */
export async function reportSoftwareUsage(
  credentials: OpenApiCredentials,
  usages: SoftwareUsage[],
  now: Date,
  options: LicenseCallOptions = {},
): Promise<void> {
  if (usages.length === 0 || usages.length > MAX_SOFTWARE_USAGE_ENTRIES) {
    throw new RangeError(`software usage takes 1–${MAX_SOFTWARE_USAGE_ENTRIES} licenses per call, got ${usages.length}`);
  }
  const body = {
    usage_info: usages.map((usage) => ({
      license: usage.license,
      // The field name's capital I is as documented (L3).
      software_usage_Info: usage.entries.map((entry) => {
        if ("id" in entry) return { id: entry.id };
        if (!Number.isSafeInteger(entry.activeNum) || entry.activeNum < 0) {
          throw new RangeError(`activeNum must be a non-negative integer, got ${entry.activeNum}`);
        }
        return { active_num: entry.activeNum };
      }),
    })),
  };
  await callLicense(credentials, "license.softwareUsage", LICENSE_PATHS.softwareUsage, body, now, options);
}
