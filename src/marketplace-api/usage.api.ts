import { z } from "zod";
import type { Settings } from "../env";
import { formatOpenApiTime } from "../protocol/time-formats";
import { canonicalUsageBody, createUsagePushHeaders } from "../protocol/usage-push-signature";
import { DEFAULT_TIMEOUT_MS, callOpenApi, failureOf, resultOf, sendJson } from "./client";
import { MarketplaceApiError } from "./errors";

/**
 * Pay-per-use usage push, spec marketplace-open-apis §2.3. Two endpoints, one chosen by the USAGE_PUSH_API setting:
 *   new: signed with the seller's usage-push key (headers signature/ts/nonce, §1.3), records carry `metering_sn`, and
 *        the answer may list rejected records (`abnormal_usage_data`);
 *   old: signed with AK/SK, no `metering_sn`, `product_id` required, and records are validated later, out of band
 *        (§2.3.5): MKT.0000 only says the batch was taken.
 *
 * Idempotency (README point 10, §6): the Marketplace drops a second record with the same `metering_sn` (code 005) or
 * the same instance + begin + end (code 010). A push that failed in transit (timeout, connection cut, 5xx) may still
 * have been stored, so the caller resends the same records with the same `metering_sn`: every record that had
 * arrived the first time now comes back rejected with 005. What a 005 or 010 means is decided in one place,
 * `meaningOfDuplicate`, from what our ledger knows about earlier deliveries.
 */

export type UsagePushApi = "new" | "old";

export interface UsagePushConfig {
  apiBase: string;
  usagePushKey: string;
  ak: string;
  sk: string;
  api: UsagePushApi;
  /** Defaults to DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
}

export interface UsageRecordToPush {
  /** The pay-per-use instance, never a package instance (§2.3.1, H14). */
  instanceId: string;
  /** Epoch ms; sent as UTC yyyyMMdd'T'HHmmss'Z' (seconds precision). */
  recordTime: number;
  beginTime: number;
  endTime: number;
  /** Decimal string > 0 with at most 4 decimals, e.g. "99" or "0.5". */
  usageValue: string;
  /** Our unique record id, also the key of the result lists; sent only by the new API. */
  meteringSn: string;
  /** The package instance drawn down, for stop-when-exhausted packages (§2.3.1). */
  relatePkgInstance?: string;
  /** Product id of the instance; required by the old API, not sent by the new one. */
  productId?: string;
}

export interface RejectedUsageRecord {
  meteringSn: string;
  /** Record-level code "001".."013" (§2.3.4); see RECORD_CODES. */
  code: string;
  message: string;
  /** Refused by our own checks: never sent, so the Marketplace cannot hold it. */
  refusedLocally?: true;
}

export interface UsagePushResult {
  /** `meteringSn` of every record the Marketplace took. */
  accepted: string[];
  /** Records refused, by the Marketplace or (message "refused locally: …", never sent) by the checks below. */
  rejected: RejectedUsageRecord[];
}

export const MAX_RECORDS_PER_PUSH = 1000;

export const USAGE_PUSH_PATHS: Readonly<Record<UsagePushApi, string>> = {
  new: "/api/mkp-openapi-public/global/v1/isv/usage-data",
  old: "/rest/marketplace/v1/isv/usage-data",
};

/** Record-level codes, §2.3.4 (H9, H9b). There is no 008. */
export const RECORD_CODES = {
  instanceNotFound: "001",
  badTimeFormat: "002",
  badUsageValue: "003",
  missingMeteringSn: "004",
  duplicateMeteringSn: "005",
  productDelisted: "006",
  recordExpired: "007",
  instanceNotOwned: "009",
  duplicateRecord: "010",
  badTimeRange: "011",
  notPayPerUse: "012",
  instanceStatusAbnormal: "013",
} as const;

/** What our ledger knows about earlier calls, as the duplicate rule needs it. */
export interface EarlierDeliveries {
  /** An earlier call with this very `metering_sn` reached the Marketplace (see usage_records.deliveries). */
  snDelivered: boolean;
  /**
   * `metering_sn` of our record with the same instance, begin_time and end_time that reached the Marketplace first
   * (this record itself when it did), or null when none of ours did.
   */
  samePeriodSn: string | null;
}

export type DuplicateMeaning = "accepted" | "conflict" | "not-a-duplicate";

/**
 * THE rule for what a duplicate answer means (issue 9 item 9, docs/billing-rules.md), used by the push job, the
 * post-deadline check and every test: 005 for a `metering_sn` we delivered before means the Marketplace holds that
 * record: accepted. 010 means it holds a record of the same instance, begin and end: accepted only if the record we
 * delivered before for that period is this one; otherwise another record bills the period and this one is a conflict
 * to report. A 005 for a `metering_sn` we never delivered is a conflict too (someone else used it).
 */
export function meaningOfDuplicate(rejection: Pick<RejectedUsageRecord, "meteringSn" | "code">, earlier: EarlierDeliveries): DuplicateMeaning {
  if (rejection.code === RECORD_CODES.duplicateMeteringSn) return earlier.snDelivered ? "accepted" : "conflict";
  if (rejection.code === RECORD_CODES.duplicateRecord) return earlier.samePeriodSn === rejection.meteringSn ? "accepted" : "conflict";
  return "not-a-duplicate";
}

const SUCCESS = "MKT.0000";
/** §2.3.4 (H7): "Failed" with record-level details; the records not listed were taken. */
const PARTIAL_FAILURE = "94060999";

/**
 * Spec §7 open question 1: the international page documents only the signature/ts/nonce headers for the new push, a
 * Chinese page also links the AK/SK docs. We send only the documented headers; if the Marketplace turns out to want
 * APIG's Authorization as well, this is the one line to change (the AK/SK signature then covers those headers too).
 */
const NEW_PUSH_ALSO_SIGNS_AKSK = false;

/** Settings → config, so the push job never assembles credentials itself. */
export function usagePushConfigOf(settings: Settings): UsagePushConfig {
  return {
    apiBase: settings.marketplace.apiBase,
    usagePushKey: settings.keys.usagePush,
    ak: settings.marketplace.ak,
    sk: settings.marketplace.sk,
    api: settings.usagePushApi,
  };
}

// §2.3.1: usage_value > 0, at most 4 decimals, at most 20 characters. No sign, no exponent, no leading zeros, so the
// string we send is the number the ledger meant.
const USAGE_VALUE = /^(?:0|[1-9]\d*)(?:\.\d{1,4})?$/;
const MAX_ID_LENGTH = 64;
const MAX_WHOLE_DIGITS = 8;

/** The record-level code the Marketplace would give a record, or null when it looks sendable. */
function localProblem(record: UsageRecordToPush, api: UsagePushApi): { code: string; message: string } | null {
  if (!record.instanceId || record.instanceId.length > MAX_ID_LENGTH) {
    return { code: RECORD_CODES.instanceNotFound, message: "instanceId must be 1–64 characters" };
  }
  if (api === "new" && record.meteringSn.length > MAX_ID_LENGTH) {
    return { code: RECORD_CODES.missingMeteringSn, message: "meteringSn must be 1–64 characters" };
  }
  for (const [field, value] of [
    ["recordTime", record.recordTime],
    ["beginTime", record.beginTime],
    ["endTime", record.endTime],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < Date.UTC(1000, 0) || value > Date.UTC(9999, 11, 31)) {
      return { code: RECORD_CODES.badTimeFormat, message: `${field} is not a time that can be sent` };
    }
  }
  // Only the seconds are sent, so the order is judged on what the Marketplace will see.
  if (Math.floor(record.beginTime / 1000) > Math.floor(record.endTime / 1000)) {
    return { code: RECORD_CODES.badTimeRange, message: "beginTime is after endTime" };
  }
  if (record.usageValue.length > 20 || !USAGE_VALUE.test(record.usageValue) || !/[1-9]/.test(record.usageValue)) {
    return { code: RECORD_CODES.badUsageValue, message: "usageValue must be a decimal > 0 with at most 4 decimals" };
  }
  // Double(12,4) on the international site (§2.3.1): the roll-up never writes more (billing-rules.md rule 9).
  if ((record.usageValue.split(".")[0] ?? "").length > MAX_WHOLE_DIGITS) {
    return { code: RECORD_CODES.badUsageValue, message: "usageValue exceeds 99999999.9999, the most one record may carry" };
  }
  return null;
}

function wireRecord(record: UsageRecordToPush, api: UsagePushApi): Record<string, string | undefined> {
  return {
    instance_id: record.instanceId,
    record_time: formatOpenApiTime(record.recordTime),
    begin_time: formatOpenApiTime(record.beginTime),
    end_time: formatOpenApiTime(record.endTime),
    usage_value: record.usageValue,
    metering_sn: api === "new" ? record.meteringSn : undefined,
    product_id: api === "old" ? record.productId : undefined,
    relate_pkg_instance: record.relatePkgInstance,
  };
}

/**
 * Sends up to MAX_RECORDS_PER_PUSH records in one call and says, per `meteringSn`, which were taken and which refused.
 * Records that fail the documented checks are refused here with the code the Marketplace would give and are not sent.
 * Throws MarketplaceApiError when the whole call failed; `retryable` says whether resending the same records (same
 * `metering_sn`) may succeed: network, timeout, 5xx, MKT.0999, rate limit, and an answer whose record details we
 * cannot attribute are retryable; signature (MKT.0102), parameter (MKT.0101), permission (MKT.0150) and MKT.9001–9004
 * are final. Throws TypeError when two records share a `meteringSn` (the result could not tell them apart).
 */
export async function pushUsage(config: UsagePushConfig, records: UsageRecordToPush[], now: Date): Promise<UsagePushResult> {
  const api = `usagePush.${config.api}`;
  if (records.length > MAX_RECORDS_PER_PUSH) {
    // The same code the Marketplace answers (§2.3.4), so the caller handles one case, not two.
    throw new MarketplaceApiError(api, "MKT.9003", `refused locally: ${records.length} records, at most ${MAX_RECORDS_PER_PUSH} per call`, false);
  }
  const seen = new Set<string>();
  for (const record of records) {
    if (!record.meteringSn) throw new TypeError("every record needs a meteringSn: it is the key of the result");
    if (seen.has(record.meteringSn)) throw new TypeError(`meteringSn ${record.meteringSn} appears twice in one push`);
    seen.add(record.meteringSn);
  }
  if (config.api === "old") {
    const missing = records.find((record) => !record.productId);
    // MKT.0101 is what the Marketplace answers for a missing mandatory parameter; every record of a product lacks it
    // alike, so this is a configuration fault of the whole call, not of one record.
    if (missing) throw new MarketplaceApiError(api, "MKT.0101", `refused locally: productId is required by the old usage push (${missing.meteringSn})`, false);
  }

  const rejected: RejectedUsageRecord[] = [];
  const toSend: UsageRecordToPush[] = [];
  for (const record of records) {
    const problem = localProblem(record, config.api);
    if (problem) rejected.push({ meteringSn: record.meteringSn, code: problem.code, message: `refused locally: ${problem.message}`, refusedLocally: true });
    else toSend.push(record);
  }
  if (toSend.length === 0) return { accepted: [], rejected };

  const body = canonicalUsageBody({ usage_records: toSend.map((record) => wireRecord(record, config.api)) });
  const { status, json } = await send(config, api, body, now);
  const { code } = resultOf(json);

  if (config.api === "old") {
    if (code !== SUCCESS) throw failureOf(api, status, json);
    return { accepted: toSend.map((record) => record.meteringSn), rejected };
  }
  if (code !== SUCCESS && code !== PARTIAL_FAILURE) throw failureOf(api, status, json);

  const sentSns = new Set(toSend.map((record) => record.meteringSn));
  const abnormal = readAbnormalRecords(json);
  const unattributable = abnormal.filter((entry) => entry.meteringSn === null || !sentSns.has(entry.meteringSn));
  if (unattributable.length > 0 || (code === PARTIAL_FAILURE && abnormal.length === 0)) {
    // We cannot tell which records failed. Resending is safe (the taken ones come back as 005), assuming is not.
    const sample = JSON.stringify(unattributable[0]?.raw ?? json).slice(0, 300);
    throw new MarketplaceApiError(api, code, `record details cannot be matched to the records sent: ${sample}`, true, status);
  }
  const refusedSns = new Set<string>();
  for (const entry of abnormal) {
    if (entry.meteringSn === null || refusedSns.has(entry.meteringSn)) continue;
    refusedSns.add(entry.meteringSn);
    rejected.push({ meteringSn: entry.meteringSn, code: entry.code, message: entry.message });
  }
  return { accepted: toSend.map((record) => record.meteringSn).filter((sn) => !refusedSns.has(sn)), rejected };
}

async function send(config: UsagePushConfig, api: string, body: string, now: Date) {
  const path = USAGE_PUSH_PATHS[config.api];
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const credentials = { ak: config.ak, sk: config.sk, apiBase: config.apiBase };
  if (config.api === "old") return callOpenApi(credentials, { api, method: "POST", path, body, timeoutMs }, now);
  const signed = createUsagePushHeaders(config.usagePushKey, body, now.getTime(), crypto.randomUUID());
  const headers = { "Content-Type": "application/json", ...signed };
  if (NEW_PUSH_ALSO_SIGNS_AKSK) return callOpenApi(credentials, { api, method: "POST", path, body, headers: signed, timeoutMs }, now);
  return sendJson(api, new URL(config.apiBase + path), { method: "POST", headers, body }, timeoutMs);
}

interface AbnormalEntry {
  meteringSn: string | null;
  code: string;
  message: string;
  raw: unknown;
}

/**
 * THE place that reads the rejected records of a new-push answer. The docs name only the list,
 * `AbnormalUsageDataInfo { abnormal_usage_data: List<AbnormalUsageData> }`, never the fields of an entry (spec §2.3.4,
 * §7 open question 2). Our reading: the list sits at the top level of the answer beside `error_code` (the answer
 * type is AbnormalUsageDataInfo); entries carry `metering_sn` plus an error code and message in the snake_case of
 * every other field of this API. The other spellings below are the likely alternatives; when the real names are
 * known, trim these lists. An entry whose record we cannot name makes the call retryable (pushUsage), never silently
 * accepted.
 */
const ABNORMAL_LIST_AT: readonly (readonly string[])[] = [
  ["abnormal_usage_data"],
  ["abnormalUsageData"],
  ["abnormal_usage_data_info", "abnormal_usage_data"],
  ["data", "abnormal_usage_data"],
];
const ENTRY_SN_FIELDS = ["metering_sn", "meteringSn", "metering_no", "sn"] as const;
const ENTRY_CODE_FIELDS = ["error_code", "errorCode", "err_code", "code", "result_code", "resultCode"] as const;
const ENTRY_MESSAGE_FIELDS = ["error_msg", "errorMsg", "err_msg", "message", "msg", "error_message", "resultMsg"] as const;

const Scalar = z.union([z.string(), z.number()]).transform(String);
const AbnormalEntryShape = z.record(z.string(), z.unknown());

function firstScalar(entry: Record<string, unknown>, fields: readonly string[]): string | null {
  for (const field of fields) {
    const parsed = Scalar.safeParse(entry[field]);
    if (parsed.success && parsed.data !== "") return parsed.data;
  }
  return null;
}

/** "5", 5 and "005" are the same record code; anything else is kept as given. */
function normaliseRecordCode(code: string | null): string {
  if (code === null) return "unknown";
  return /^\d{1,3}$/.test(code) ? code.padStart(3, "0") : code;
}

function readAbnormalRecords(json: Record<string, unknown>): AbnormalEntry[] {
  for (const path of ABNORMAL_LIST_AT) {
    let node: unknown = json;
    for (const key of path) {
      const parent = AbnormalEntryShape.safeParse(node);
      node = parent.success ? parent.data[key] : undefined;
    }
    if (!Array.isArray(node)) continue;
    return node.map((raw: unknown) => {
      const entry = AbnormalEntryShape.safeParse(raw);
      const fields = entry.success ? entry.data : {};
      return {
        meteringSn: firstScalar(fields, ENTRY_SN_FIELDS),
        code: normaliseRecordCode(firstScalar(fields, ENTRY_CODE_FIELDS)),
        message: firstScalar(fields, ENTRY_MESSAGE_FIELDS) ?? "",
        raw,
      };
    });
  }
  return [];
}
