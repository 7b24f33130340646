/**
 * A local fake of the Marketplace's open APIs (query order, usage push new and old, string/file upload, license
 * codes) for end-to-end tests and benchmarks. It checks what the real one checks, as the spec describes it
 * (open-apis §1, §2, §6 in docs/marketplace-docs.md), and can be told to fail on purpose (see README.md).
 *
 * Deliberately self-contained: it imports nothing from src/, and its AK/SK and usage-push signature checks are
 * written afresh from the spec, so a test passing against it is evidence that our signers agree with the spec, not
 * merely with themselves. One file because it runs on Node 22's built-in type stripping (`npx node <this file>`),
 * which cannot resolve the extensionless imports tsc wants between files.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";

// ---- options and state -----------------------------------------------------------------------------------------

export interface FakeLicense {
  status: string;
  /** UTC yyyyMMddHHmmss */
  expireTime: string;
  productId: string;
  orderId: string;
  amount: number;
  activateTime: string | null;
}

export interface FakeMarketplaceOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** AK → SK accepted for APIG signatures. Default: the development values of .dev.vars.example. */
  credentials?: Record<string, string>;
  /** Key of the new usage push signature. Default: the development value of .dev.vars.example. */
  usagePushKey?: string;
  /** Instances the usage push knows; null (default) accepts every instance id. */
  knownInstances?: readonly string[] | null;
  /** orderId → orderInfo answered by query order, besides the spec's MOCK* ids. */
  orders?: Record<string, Record<string, unknown>>;
  /**
   * Answer query order for any order id (a one-month PERIOD order, line `<id>-000001`, expiring in a year), so that
   * `npm run simulate -- --real` purchases, whose order ids are fresh, can be provisioned order-first locally.
   */
  anyOrder?: boolean;
  /** license code → license; without this, any license code is valid and created on first use. */
  licenses?: Record<string, Omit<FakeLicense, "activateTime"> & { activateTime?: string | null }>;
  /** Epoch ms; inject a clock to test skew and the 21-day rule. */
  now?: () => number;
  /** Let the process exit while the fake still listens (a fake started on demand inside a test service). */
  unref?: boolean;
}

export type ApiName = "usage.new" | "usage.old" | "order" | "upload" | "license.activate" | "license.heartbeat" | "license.softwareUsage";
export type ApiFilter = "any" | "usage" | "order" | "upload" | "license";

export interface StoredUsageRecord {
  api: "new" | "old";
  callId: number;
  instanceId: string;
  recordTime: string;
  beginTime: string;
  endTime: string;
  usageValue: string;
  meteringSn: string | null;
  productId: string | null;
  relatePkgInstance: string | null;
  receivedAt: number;
}

export interface AsyncRejectedRecord {
  record: Record<string, unknown>;
  code: string;
  reason: string;
}

export interface StoredUpload {
  eventId: string;
  type: string;
  characters: string | null;
  fileName: string | null;
  sha256: string | null;
  fileBytes: number;
  receivedAt: number;
}

export type FailureMode = "http500" | "timeout" | "partial" | "drop-after-accept" | "code";

export interface InjectedFailure {
  mode: FailureMode;
  /** Calls still to be affected. */
  remaining: number;
  api: ApiFilter;
  /** partial: reject these metering_sn … */
  meteringSns: string[] | null;
  /** … or the first round(fraction × n) records of the call, in the order sent. */
  fraction: number | null;
  /** partial: the record-level code given to the chosen records. */
  code: string;
  /** partial: top-level code of the answer (94060999, or MKT.0000 with abnormal_usage_data). */
  responseCode: string;
  /** http500: false answers an HTML page instead of a JSON error. */
  json: boolean;
}

export interface FakeState {
  records: StoredUsageRecord[];
  /** Old-API records taken with MKT.0000 but dropped by the (asynchronous, §2.3.5) validation. */
  asyncRejected: AsyncRejectedRecord[];
  uploads: StoredUpload[];
  softwareUsage: unknown[];
  calls: { total: number; byApi: Record<string, number>; authFailures: number; injected: number };
  failures: InjectedFailure[];
  knownInstances: Set<string> | null;
  orders: Map<string, Record<string, unknown>>;
  anyOrder: boolean;
  licenses: Map<string, FakeLicense> | null;
  /** Licenses created on first use when `licenses` is null. */
  autoLicenses: Map<string, FakeLicense>;
  /** license code → the documented error its activate/heartbeat calls, and software-usage calls naming it, get (POST /__control/license-error). */
  licenseErrors: Map<string, { code: LicenseErrorCode; remaining: number }>;
  /**
   * The Marketplace unreachable (POST /__control/outage): `all` for every API, `codes` for license calls naming one of
   * these codes (so tests sharing one fake each take down only their own codes).
   */
  outage: { all: OutageMode | null; codes: Map<string, OutageMode> };
  /** Added to the fake's clock (POST /__control/clock): an end-to-end run that moves the gateway's cron forward. */
  clockOffsetMs: number;
}

/** §2.4 L4: 92020001 unauthorized (403), 92020002 invalid param, 92020004 not yet received by the user, 92020005 no such code. */
export const LICENSE_ERROR_CODES = ["92020001", "92020002", "92020004", "92020005"] as const;
export type LicenseErrorCode = (typeof LICENSE_ERROR_CODES)[number];
/** http503: an HTML 503 page; http500: a JSON 92020001 internal error (HTTP 500); drop: the connection is cut. */
export const OUTAGE_MODES = ["http503", "http500", "drop"] as const;
export type OutageMode = (typeof OUTAGE_MODES)[number];

export interface FakeMarketplace {
  url: string;
  port: number;
  state: FakeState;
  close(): Promise<void>;
}

const DEV_CREDENTIALS: Record<string, string> = { DEVAKEXAMPLE0000000: "dev-marketplace-secret-key-change-me" };
const DEV_USAGE_PUSH_KEY = "dev-usage-push-key-change-me";

// §1.2.4 (A6): X-Sdk-Date more than 15 minutes from gateway time is refused. A7: signed bodies up to 12 MB.
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_BODY_BYTES = 12 * 1024 * 1024;
// §2.3.1 / §2.3.4.
const MAX_RECORDS = 1000;
const MAX_BEGIN_AGE_MS = 21 * 24 * 60 * 60 * 1000;

const PATHS = {
  order: "/api/mkp-openapi-public/global/v1/order/query",
  usageNew: "/api/mkp-openapi-public/global/v1/isv/usage-data",
  usageOld: "/rest/marketplace/v1/isv/usage-data",
  upload: /^\/api\/mkp-openapi-public\/global\/v1\/market-event\/([^/]+)\/file$/,
  licenseActivate: "/api/mkp-openapi-public/global/v1/license/activate",
  licenseHeartbeat: "/api/mkp-openapi-public/global/v1/license/heartbeat",
  softwareUsage: "/api/mkp-openapi-public/global/v2/license/software-usage-info",
} as const;

function initialState(options: FakeMarketplaceOptions): FakeState {
  const licenses = options.licenses
    ? new Map(Object.entries(options.licenses).map(([code, license]) => [code, { ...license, activateTime: license.activateTime ?? null }]))
    : null;
  return {
    records: [],
    asyncRejected: [],
    uploads: [],
    softwareUsage: [],
    calls: { total: 0, byApi: {}, authFailures: 0, injected: 0 },
    failures: [],
    knownInstances: options.knownInstances ? new Set(options.knownInstances) : null,
    orders: new Map(Object.entries(options.orders ?? {})),
    anyOrder: options.anyOrder ?? false,
    licenses,
    autoLicenses: new Map(),
    licenseErrors: new Map(),
    outage: { all: null, codes: new Map() },
    clockOffsetMs: 0,
  };
}

// ---- small helpers ---------------------------------------------------------------------------------------------

interface Answer {
  status: number;
  body: unknown;
  contentType?: string;
}

const json = (status: number, body: unknown): Answer => ({ status, body });
const usageError = (status: number, code: string, message: string): Answer => json(status, { error_code: code, error_msg: message });
const apigError = (status: number, code: string, message: string): Answer =>
  json(status, { error_code: code, error_msg: message, request_id: randomUUID().replace(/-/g, "") });

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function safeEqualText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** UTC yyyyMMdd'T'HHmmss'Z' → epoch ms, or null. The parts must survive a round trip through Date.UTC. */
function parseOpenApiTime(value: unknown): number | null {
  if (typeof value !== "string") return null;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  const same =
    back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d && back.getUTCHours() === h && back.getUTCMinutes() === mi;
  return same && back.getUTCSeconds() === s ? ms : null;
}

/** UTC yyyyMMddHHmmss → epoch ms, or null. */
function parseCompactTime(value: unknown): number | null {
  if (typeof value !== "string" || !/^\d{14}$/.test(value)) return null;
  return parseOpenApiTime(`${value.slice(0, 8)}T${value.slice(8)}Z`);
}

function formatCompactTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

// ---- APIG SDK-HMAC-SHA256, written from spec §1.2 (not from src/protocol/aksk-signer.ts) ----------------------

/** RFC 3986: only A–Z a–z 0–9 - _ . ~ stay literal. encodeURIComponent also leaves ! ' ( ) * alone, so escape them. */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decodeOr(text: string, fallback: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fallback;
  }
}

function canonicalUriOf(rawPath: string): string {
  const uri = rawPath
    .split("/")
    .map((segment) => rfc3986(decodeOr(segment, segment)))
    .join("/");
  return uri.endsWith("/") ? uri : `${uri}/`;
}

/** The query as a Java/Go form decoder reads it (`+` is a space), sorted by name then value, re-encoded. */
function canonicalQueryOf(rawQuery: string): string {
  const pairs = rawQuery
    .split("&")
    .filter((part) => part !== "")
    .map((part) => {
      const at = part.indexOf("=");
      const name = at < 0 ? part : part.slice(0, at);
      const value = at < 0 ? "" : part.slice(at + 1);
      const decode = (s: string) => decodeOr(s.replace(/\+/g, " "), s);
      return [decode(name), decode(value)] as const;
    });
  pairs.sort(([na, va], [nb, vb]) => (na < nb ? -1 : na > nb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  return pairs.map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`).join("&");
}

const AUTHORIZATION = /^SDK-HMAC-SHA256 Access=([^,\s]+), SignedHeaders=([a-z0-9_;.-]+), Signature=([0-9a-f]{64})$/;

function headerText(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** null when the request is signed correctly and on time; otherwise the answer APIG would give. */
function checkAkSk(req: IncomingMessage, rawPath: string, rawQuery: string, body: Buffer, credentials: Record<string, string>, now: number): Answer | null {
  const authorization = headerText(req, "authorization");
  const m = authorization ? AUTHORIZATION.exec(authorization) : null;
  if (!m) return apigError(401, "APIGW.0301", "Incorrect IAM authentication information: Authorization header missing or malformed");
  const [, access = "", signedHeaderList = "", signature = ""] = m;
  const sk = Object.hasOwn(credentials, access) ? credentials[access] : undefined;
  if (sk === undefined) return apigError(401, "APIGW.0301", "Incorrect IAM authentication information: unknown access key");
  const signedHeaders = signedHeaderList.split(";");
  const sorted = [...signedHeaders].sort();
  if (sorted.join(";") !== signedHeaderList || new Set(signedHeaders).size !== signedHeaders.length) {
    return apigError(401, "APIGW.0301", "Incorrect IAM authentication information: SignedHeaders not sorted or repeated");
  }
  if (!signedHeaders.includes("host") || !signedHeaders.includes("x-sdk-date")) {
    return apigError(401, "APIGW.0301", "Incorrect IAM authentication information: host and x-sdk-date must be signed");
  }
  const sdkDate = headerText(req, "x-sdk-date") ?? "";
  const signedAt = parseOpenApiTime(sdkDate);
  if (signedAt === null) return apigError(401, "APIGW.0301", "Incorrect IAM authentication information: bad X-Sdk-Date");
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) {
    return apigError(401, "APIGW.0303", "Incorrect app authentication information: X-Sdk-Date is more than 15 minutes from server time");
  }
  const lines: string[] = [];
  for (const name of signedHeaders) {
    const value = headerText(req, name);
    if (value === undefined) return apigError(401, "APIGW.0301", `Incorrect IAM authentication information: signed header ${name} not sent`);
    lines.push(`${name}:${value.trim()}\n`);
  }
  const payloadHash = headerText(req, "x-sdk-content-sha256") ?? createHash("sha256").update(body).digest("hex");
  const canonicalRequest = [
    (req.method ?? "").toUpperCase(),
    canonicalUriOf(rawPath),
    canonicalQueryOf(rawQuery),
    lines.join(""),
    signedHeaderList,
    payloadHash,
  ].join("\n");
  const stringToSign = `SDK-HMAC-SHA256\n${sdkDate}\n${createHash("sha256").update(canonicalRequest).digest("hex")}`;
  const expected = createHmac("sha256", sk).update(stringToSign).digest("hex");
  if (!safeEqualText(expected, signature)) return apigError(401, "APIGW.0301", "Incorrect IAM authentication information: verify aksk signature fail");
  return null;
}

// ---- new usage push signature, written from spec §1.3 ----------------------------------------------------------

/** "Natural order": object keys sorted (UTF-16 code units) at every level, compact, as JSON.stringify writes values. */
function naturalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(naturalJson).join(",")}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${naturalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Our strictest reading of §1.3, so that both plausible Marketplace implementations would accept what passes here:
 * the signature must verify over the raw bytes received, AND those bytes must already be in natural order (so a
 * Marketplace that re-sorts before verifying computes the same string).
 */
function checkUsagePushSignature(req: IncomingMessage, raw: Buffer, parsed: unknown, key: string): Answer | null {
  const signature = headerText(req, "signature");
  const ts = headerText(req, "ts");
  const nonce = headerText(req, "nonce");
  if (!signature || !ts || !nonce) return usageError(400, "MKT.0102", "Invalid body sign: signature, ts and nonce headers are required");
  if (!/^\d{1,20}$/.test(ts) || nonce.length > 64) return usageError(400, "MKT.0102", "Invalid body sign: ts or nonce malformed");
  const expected = createHmac("sha256", key)
    .update(Buffer.concat([Buffer.from(`ts=${ts}&nonce=${nonce}&body=`), raw]))
    .digest("base64");
  if (!safeEqualText(expected, signature)) return usageError(400, "MKT.0102", "Invalid body sign");
  if (naturalJson(parsed) !== raw.toString("utf8")) {
    return usageError(400, "MKT.0102", "Invalid body sign: body is not in natural order (sorted keys, compact)");
  }
  return null;
}

// ---- usage push rules (§2.3) -----------------------------------------------------------------------------------

const MANDATORY_RECORD_FIELDS = ["instance_id", "record_time", "begin_time", "end_time", "usage_value"] as const;

function usageValueOk(value: unknown): boolean {
  const text = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== "string" || text.length > 20) return false;
  const m = /^\d+(?:\.(\d+))?$/.exec(text);
  if (!m || (m[1]?.length ?? 0) > 4) return false;
  return Number(text) > 0;
}

interface Verdict {
  code: string;
  reason: string;
}

/** instance + begin + end of every stored record: built once per call, then extended by the call's own records. */
function storedPeriodKeys(state: FakeState): Set<string> {
  return new Set(state.records.map((r) => `${r.instanceId}|${r.beginTime}|${r.endTime}`));
}

/** `seenKeys`: storedPeriodKeys plus the records of this call checked so far (a pass adds its own key). */
function recordVerdict(record: Record<string, unknown>, state: FakeState, now: number, seenKeys: Set<string>, checkAge: boolean): Verdict | null {
  const instanceId = String(record.instance_id);
  if (state.knownInstances && !state.knownInstances.has(instanceId)) return { code: "001", reason: "instance does not exist" };
  const recordTime = parseOpenApiTime(record.record_time);
  const begin = parseOpenApiTime(record.begin_time);
  const end = parseOpenApiTime(record.end_time);
  if (recordTime === null || begin === null || end === null) return { code: "002", reason: "time format invalid" };
  // H13: begin_time ≤ end_time ≤ push time.
  if (begin > end || end > now) return { code: "011", reason: "invalid record time range" };
  if (!usageValueOk(record.usage_value)) return { code: "003", reason: "usage value abnormal" };
  if (checkAge && begin < now - MAX_BEGIN_AGE_MS) return { code: "007", reason: "record time expired (begin older than 21 days)" };
  const key = `${instanceId}|${String(record.begin_time)}|${String(record.end_time)}`;
  if (seenKeys.has(key)) {
    return { code: "010", reason: "duplicate record (same instance, begin and end)" };
  }
  seenKeys.add(key);
  return null;
}

function store(state: FakeState, api: "new" | "old", callId: number, record: Record<string, unknown>, now: number): void {
  const text = (v: unknown) => (v === undefined || v === null ? null : String(v));
  state.records.push({
    api,
    callId,
    instanceId: String(record.instance_id),
    recordTime: String(record.record_time),
    beginTime: String(record.begin_time),
    endTime: String(record.end_time),
    usageValue: String(record.usage_value),
    meteringSn: text(record.metering_sn),
    productId: text(record.product_id),
    relatePkgInstance: text(record.relate_pkg_instance),
    receivedAt: now,
  });
}

function readRecords(parsed: unknown): Record<string, unknown>[] | Answer {
  const records = isRecord(parsed) ? parsed.usage_records : undefined;
  if (!Array.isArray(records) || records.length === 0) return usageError(400, "MKT.0101", "usage_records must be a non-empty array");
  if (records.length > MAX_RECORDS) return usageError(500, "MKT.9003", `too many records: ${records.length} > ${MAX_RECORDS}`);
  if (!records.every(isRecord)) return usageError(400, "MKT.0101", "every usage record must be an object");
  for (const record of records) {
    const missing = MANDATORY_RECORD_FIELDS.find((field) => record[field] === undefined || record[field] === null || record[field] === "");
    if (missing) return usageError(400, "MKT.0101", `${missing} is mandatory`);
  }
  return records;
}

function pushNew(state: FakeState, parsed: unknown, now: number, callId: number, partial: InjectedFailure | null): Answer {
  const records = readRecords(parsed);
  if (!Array.isArray(records)) return records;
  const chosen = new Set<number>();
  if (partial) {
    if (partial.meteringSns) {
      records.forEach((r, i) => {
        if (partial.meteringSns?.includes(String(r.metering_sn))) chosen.add(i);
      });
    } else {
      const count = Math.round((partial.fraction ?? 0) * records.length);
      for (let i = 0; i < count; i++) chosen.add(i);
    }
  }
  const storedSns = new Set(state.records.map((r) => r.meteringSn));
  const batchSns = new Set<string>();
  const seenKeys = storedPeriodKeys(state);
  const abnormal: { metering_sn: string; error_code: string; error_msg: string }[] = [];
  const accepted: Record<string, unknown>[] = [];
  records.forEach((record, index) => {
    const sn = typeof record.metering_sn === "string" ? record.metering_sn : "";
    let verdict: Verdict | null = null;
    // The unique id is checked first: a resend of a stored record is a 005, whatever else has changed since.
    if (sn === "" || sn.length > 64) verdict = { code: "004", reason: "missing record unique ID (metering_sn)" };
    else if (storedSns.has(sn) || batchSns.has(sn)) verdict = { code: "005", reason: "duplicate record unique ID (metering_sn)" };
    else if (partial && chosen.has(index)) verdict = { code: partial.code, reason: "injected failure" };
    else verdict = recordVerdict(record, state, now, seenKeys, true);
    if (sn !== "") batchSns.add(sn);
    if (verdict) abnormal.push({ metering_sn: sn, error_code: verdict.code, error_msg: verdict.reason });
    else accepted.push(record);
  });
  for (const record of accepted) store(state, "new", callId, record, now);
  if (abnormal.length === 0) return usageError(200, "MKT.0000", "success");
  const code = partial?.responseCode ?? "94060999";
  return json(200, { error_code: code, error_msg: code === "MKT.0000" ? "success" : "Failed", abnormal_usage_data: abnormal });
}

/**
 * The old API validates records later, out of band (§2.3.5, H10): the call answers MKT.0000 and bad records only
 * show in the seller console, here in `asyncRejected`. What it does refuse up front: the documented interface codes,
 * including MKT.9004 for a begin time older than 21 days (§2.3.4), which the new API reports per record (007).
 */
function pushOld(state: FakeState, parsed: unknown, now: number, callId: number): Answer {
  const records = readRecords(parsed);
  if (!Array.isArray(records)) return records;
  if (records.some((r) => typeof r.product_id !== "string" || r.product_id === "")) return usageError(400, "MKT.0101", "product_id is mandatory");
  if (records.some((r) => (parseOpenApiTime(r.begin_time) ?? now) < now - MAX_BEGIN_AGE_MS)) {
    return usageError(500, "MKT.9004", "record begin time must be within 21 days");
  }
  const seenKeys = storedPeriodKeys(state);
  for (const record of records) {
    const verdict = recordVerdict(record, state, now, seenKeys, false);
    if (verdict) state.asyncRejected.push({ record, code: verdict.code, reason: verdict.reason });
    else store(state, "old", callId, record, now);
  }
  return usageError(200, "MKT.0000", "success");
}

// ---- query order (§2.1) ----------------------------------------------------------------------------------------

const MOCK_ORDERS: Record<string, { orderType: string; chargingMode: string; periodType?: string }> = {
  MOCKPERIODYEARNEW: { orderType: "NEW", chargingMode: "PERIOD", periodType: "year" },
  MOCKONETIMENEW: { orderType: "NEW", chargingMode: "ONE_TIME" },
  MOCKONDEMAND: { orderType: "NEW", chargingMode: "ON_DEMAND" },
  MOCKONDEMANDPKG: { orderType: "NEW", chargingMode: "ON_DEMAND_PKG" },
  MOCKPERIODDAYTRIAL: { orderType: "TRIAL", chargingMode: "PERIOD", periodType: "day" },
  MOCKMONTYTRIALTOFORMAL: { orderType: "TRIAL_TO_FORMAL", chargingMode: "PERIOD", periodType: "month" },
  MOCKMONTYUNSUBSCRIBE: { orderType: "UNSUBSCRIBE", chargingMode: "PERIOD", periodType: "month" },
  MOCKMONTYRENEW: { orderType: "RENEW", chargingMode: "PERIOD", periodType: "month" },
  MOCKMONTYCHANGE: { orderType: "CHANGE", chargingMode: "PERIOD", periodType: "month" },
};

/** Shaped like the captured MOCKPERIODYEARNEW answer paraphrased in spec §2.1 (G5). */
function mockOrder(orderId: string): Record<string, unknown> | null {
  const mock = MOCK_ORDERS[orderId];
  if (!mock) return null;
  const line: Record<string, unknown> = {
    orderLineId: `${orderId}-000001`,
    chargingMode: mock.chargingMode,
    productInfo: [{ productId: "00301-MOCK-0--0", skuCode: "mock-sku-0001", linearValue: 50, productName: "Mock product" }],
    extendParams: [{ name: "emailDomainName", value: "mock.example.com" }],
    currency: "100",
    currencyAfterDiscount: "100",
  };
  if (mock.periodType) Object.assign(line, { periodType: mock.periodType, periodNumber: 1, expireTime: "20251121235959" });
  return {
    orderId,
    orderType: mock.orderType,
    createTime: "20241121090846",
    orderLine: [line],
    buyerInfo: { customerId: "mock-customer-id", customerName: "mock-customer", customerRealName: "Mock", customerType: 1, userId: "mock-user", userName: "mock" },
  };
}

/** An order id starting with OD is a pay-per-use (ON_DEMAND) order, any other a one-month PERIOD order. */
function anyOrder(orderId: string): Record<string, unknown> {
  const expire = new Date(Date.now() + 365 * 86_400_000);
  const pad = (n: number) => String(n).padStart(2, "0");
  const expireTime = `${expire.getUTCFullYear()}${pad(expire.getUTCMonth() + 1)}${pad(expire.getUTCDate())}235959`;
  const terms = orderId.startsWith("OD")
    ? { chargingMode: "ON_DEMAND", productInfo: [{ productId: "00301-LOCAL-OD--0", skuCode: "local-sku-ondemand", linearValue: 1, productName: "Local pay-per-use product" }] }
    : {
        chargingMode: "PERIOD",
        periodType: "month",
        periodNumber: 1,
        expireTime,
        productInfo: [{ productId: "00301-LOCAL-0--0", skuCode: "local-sku-0001", linearValue: 1, productName: "Local product" }],
      };
  return {
    orderId,
    orderType: "NEW",
    createTime: "20261101090846",
    // Amounts as the Marketplace's mock serialises them: decimal strings (spec §2.1).
    orderLine: [{ orderLineId: `${orderId}-000001`, ...terms, currency: "100.00", currencyAfterDiscount: "90.00" }],
    buyerInfo: { customerId: "local-customer-id", customerName: "local-customer" },
  };
}

function queryOrder(state: FakeState, rawQuery: string): Answer {
  const params = new URLSearchParams(rawQuery);
  const orderId = params.get("orderId");
  const orderLineId = params.get("orderLineId");
  if (!orderId) return json(400, { resultCode: "CBC.0101", resultMsg: "orderId is mandatory" });
  const order = state.orders.get(orderId) ?? mockOrder(orderId) ?? (state.anyOrder ? anyOrder(orderId) : null);
  // The docs give no code for an unknown order; CBC.0101 (invalid parameter) is this fake's choice.
  if (!order) return json(400, { resultCode: "CBC.0101", resultMsg: `order ${orderId} not found` });
  if (orderLineId) {
    const lines = Array.isArray(order.orderLine) ? order.orderLine : [];
    if (!lines.some((l) => isRecord(l) && l.orderLineId === orderLineId)) {
      return json(400, { resultCode: "CBC.0101", resultMsg: `order line ${orderLineId} not found` });
    }
  }
  return json(200, { resultCode: "MKT.0000", resultMsg: "success", orderInfo: order });
}

// ---- string / file upload (§2.2) -------------------------------------------------------------------------------

export interface Part {
  name: string;
  filename: string | null;
  body: Buffer;
}

export function parseMultipart(contentType: string, body: Buffer): Part[] | null {
  const m = /^multipart\/form-data;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return null;
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let at = body.indexOf(delimiter);
  if (at !== 0) return null;
  for (;;) {
    const afterDelimiter = at + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === "--") return parts;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() !== "\r\n") return null;
    const headersEnd = body.indexOf("\r\n\r\n", afterDelimiter + 2);
    if (headersEnd < 0) return null;
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headersEnd + 4);
    if (next < 0) return null;
    const headers = body.subarray(afterDelimiter + 2, headersEnd).toString("utf8");
    const disposition = /^content-disposition:\s*form-data;(.*)$/im.exec(headers)?.[1] ?? "";
    const name = /(?:^|;)\s*name="([^"]*)"/.exec(disposition)?.[1];
    if (name === undefined) return null;
    const filename = /;\s*filename="([^"]*)"/.exec(disposition)?.[1] ?? null;
    parts.push({ name, filename, body: body.subarray(headersEnd + 4, next) });
    at = next + 2;
  }
}

function upload(state: FakeState, eventId: string, contentType: string, body: Buffer, now: number): Answer {
  const bad = (message: string) => json(400, { error_code: "CBC.0101", error_msg: message });
  const parts = parseMultipart(contentType, body);
  if (!parts) return bad("body must be multipart/form-data");
  const requestPart = parts.find((p) => p.name === "isvUpdateFileReq");
  let request: unknown;
  try {
    request = requestPart ? JSON.parse(requestPart.body.toString("utf8")) : undefined;
  } catch {
    return bad("isvUpdateFileReq is not JSON");
  }
  if (!isRecord(request)) return bad("isvUpdateFileReq is mandatory");
  const filePart = parts.find((p) => p.name === "file");
  if (request.type === "CHARACTERS") {
    const characters = request.characters;
    if (typeof characters !== "string" || characters.length === 0 || characters.length > 1024) return bad("characters must be 1–1024 characters");
    state.uploads.push({ eventId, type: "CHARACTERS", characters, fileName: null, sha256: null, fileBytes: 0, receivedAt: now });
  } else if (request.type === "FILE") {
    if (!filePart) return bad("file is mandatory when type is FILE");
    const fileName = request.file_name;
    if (typeof fileName !== "string" || fileName.length === 0 || fileName.length > 1024) return bad("file_name must be 1–1024 characters");
    const sha256 = createHash("sha256").update(filePart.body).digest("hex");
    if (typeof request.sha256 !== "string" || request.sha256.toLowerCase() !== sha256) return bad("sha256 does not match the file");
    state.uploads.push({ eventId, type: "FILE", characters: null, fileName, sha256, fileBytes: filePart.body.length, receivedAt: now });
  } else {
    return bad("type must be CHARACTERS or FILE");
  }
  return json(200, { error_code: "CBC.0000", error_msg: "success" });
}

// ---- license codes (§2.4) --------------------------------------------------------------------------------------

const LICENSE_OK = "92020000";
const licenseError = (status: number, code: string, message: string) => json(status, { error_code: code, error_msg: message });

const LICENSE_ERROR_MESSAGES: Record<LicenseErrorCode, string> = {
  "92020001": "unauthorized",
  "92020002": "invalid param",
  "92020004": "the license code cannot be activated before the user has received it",
  "92020005": "license code does not exist",
};

/** Whether the outage covers this call: every API, or license calls naming one of the listed codes. */
function outageCovers(state: FakeState, api: ApiName, body: Buffer): OutageMode | null {
  const outage = state.outage;
  if (outage.all) return outage.all;
  if (outage.codes.size === 0 || !api.startsWith("license.")) return null;
  const parsed = parseJson(body);
  if (!parsed.ok || !isRecord(parsed.value)) return null;
  const usage = Array.isArray(parsed.value.usage_info) ? parsed.value.usage_info : [parsed.value];
  for (const item of usage) {
    const mode = isRecord(item) && typeof item.license === "string" ? outage.codes.get(item.license) : undefined;
    if (mode) return mode;
  }
  return null;
}

function findLicense(state: FakeState, code: string, now: number): FakeLicense | null {
  if (state.licenses) return state.licenses.get(code) ?? null;
  let license = state.autoLicenses.get(code);
  if (!license) {
    license = {
      status: "ALIVE",
      expireTime: formatCompactTime(now + 365 * 24 * 60 * 60 * 1000),
      productId: "00301-LICENSE-0--0",
      orderId: `CS${code.slice(0, 20)}`,
      amount: 1,
      activateTime: null,
    };
    state.autoLicenses.set(code, license);
  }
  return license;
}

/** The error steered for this code (POST /__control/license-error), counted down. */
function steeredLicenseError(state: FakeState, code: string, steered: { code: LicenseErrorCode; remaining: number }): Answer {
  steered.remaining -= 1;
  if (steered.remaining <= 0) state.licenseErrors.delete(code);
  return licenseError(steered.code === "92020001" ? 403 : 400, steered.code, LICENSE_ERROR_MESSAGES[steered.code]);
}

function license(state: FakeState, api: ApiName, parsed: unknown, now: number): Answer {
  if (!isRecord(parsed)) return licenseError(400, "92020002", "body must be a JSON object");
  if (api === "license.softwareUsage") {
    const usage = parsed.usage_info;
    if (!Array.isArray(usage) || usage.length === 0 || usage.length > 100) return licenseError(400, "92020002", "usage_info must hold 1–100 entries");
    for (const item of usage) {
      if (!isRecord(item) || typeof item.license !== "string" || !Array.isArray(item.software_usage_Info)) {
        return licenseError(400, "92020002", "each usage_info entry needs license and software_usage_Info");
      }
      const steered = state.licenseErrors.get(item.license);
      if (steered) return steeredLicenseError(state, item.license, steered);
      if (!findLicense(state, item.license, now)) return licenseError(400, "92020005", `license ${item.license} does not exist`);
      for (const entry of item.software_usage_Info) {
        const exactlyOne = isRecord(entry) && ("id" in entry) !== ("active_num" in entry);
        if (!exactlyOne) return licenseError(400, "92020002", "each software_usage_Info entry has exactly one of id and active_num");
      }
    }
    state.softwareUsage.push(...usage);
    return licenseError(200, LICENSE_OK, "success");
  }
  if (typeof parsed.license !== "string" || parsed.license === "") return licenseError(400, "92020002", "license is mandatory");
  const steered = state.licenseErrors.get(parsed.license);
  if (steered) return steeredLicenseError(state, parsed.license, steered);
  const found = findLicense(state, parsed.license, now);
  if (!found) return licenseError(400, "92020005", "license code does not exist");
  if (api === "license.activate") {
    const effect = parsed.real_effect_time;
    if (effect !== undefined && parseCompactTime(effect) === null) return licenseError(400, "92020002", "real_effect_time must be UTC yyyyMMddHHmmss");
    found.activateTime ??= typeof effect === "string" ? effect : formatCompactTime(now);
    const info = { status: found.status, expire_time: found.expireTime, product_id: found.productId, order_id: found.orderId, amount: found.amount };
    return json(200, { error_code: LICENSE_OK, error_msg: "success", data: { license_code_info: JSON.stringify(info) } });
  }
  return json(200, {
    error_code: LICENSE_OK,
    error_msg: "success",
    data: { license_code: parsed.license, status: found.status, activate_time: found.activateTime, expire_time: found.expireTime },
  });
}

// ---- control API -----------------------------------------------------------------------------------------------

const FAILURE_MODES: readonly FailureMode[] = ["http500", "timeout", "partial", "drop-after-accept", "code"];
const API_FILTERS: readonly ApiFilter[] = ["any", "usage", "order", "upload", "license"];

function matches(filter: ApiFilter, api: ApiName): boolean {
  return filter === "any" || api === filter || api.startsWith(`${filter}.`);
}

function recordsReport(state: FakeState) {
  const byInstance: Record<string, number> = {};
  for (const r of state.records) byInstance[r.instanceId] = (byInstance[r.instanceId] ?? 0) + 1;
  return {
    total: state.records.length,
    byApi: { new: state.records.filter((r) => r.api === "new").length, old: state.records.filter((r) => r.api === "old").length },
    byInstance,
    records: state.records,
    asyncRejected: state.asyncRejected,
    calls: state.calls,
  };
}

function control(state: FakeState, options: FakeMarketplaceOptions, method: string, path: string, parsed: unknown): Answer {
  if (method === "GET" && path === "/__control/records") return json(200, recordsReport(state));
  if (method === "GET" && path === "/__control/state") {
    return json(200, {
      ...recordsReport(state),
      uploads: state.uploads,
      softwareUsage: state.softwareUsage,
      pendingFailures: state.failures,
      licenses: Object.fromEntries(state.licenses ?? state.autoLicenses),
    });
  }
  if (method === "POST" && path === "/__control/config") {
    if (!isRecord(parsed)) return json(400, { error: "body must be a JSON object" });
    if ("knownInstances" in parsed) {
      const list = parsed.knownInstances;
      if (list !== null && !(Array.isArray(list) && list.every((i) => typeof i === "string"))) return json(400, { error: "knownInstances: string[] or null" });
      state.knownInstances = list === null ? null : new Set(list);
    }
    if ("orders" in parsed) {
      if (!isRecord(parsed.orders)) return json(400, { error: "orders: { orderId: orderInfo }" });
      for (const [orderId, info] of Object.entries(parsed.orders)) if (isRecord(info)) state.orders.set(orderId, info);
    }
    if ("licenses" in parsed) {
      if (!isRecord(parsed.licenses)) return json(400, { error: "licenses: { code: { status?, expireTime?, productId?, orderId?, amount? } }" });
      const target = state.licenses ?? state.autoLicenses;
      for (const [code, value] of Object.entries(parsed.licenses)) {
        if (!isRecord(value)) continue;
        const current = target.get(code) ?? findLicense(state, code, Date.now()) ?? { status: "ALIVE", expireTime: "20991231235959", productId: "00301-LICENSE-0--0", orderId: `CS${code.slice(0, 20)}`, amount: 1, activateTime: null };
        const text = (name: string, fallback: string) => (typeof value[name] === "string" ? (value[name] as string) : fallback);
        target.set(code, {
          ...current,
          status: text("status", current.status),
          expireTime: text("expireTime", current.expireTime),
          productId: text("productId", current.productId),
          orderId: text("orderId", current.orderId),
          amount: typeof value.amount === "number" ? value.amount : current.amount,
        });
      }
    }
    return json(200, { ok: true });
  }
  if (method === "POST" && path === "/__control/license-error") {
    if (!isRecord(parsed) || typeof parsed.license !== "string" || parsed.license === "") return json(400, { error: "license: the code to steer" });
    if (parsed.code === null) {
      state.licenseErrors.delete(parsed.license);
      return json(200, { ok: true });
    }
    const code = LICENSE_ERROR_CODES.find((c) => c === parsed.code);
    if (!code) return json(400, { error: `code must be one of ${LICENSE_ERROR_CODES.join(", ")} (or null to clear)` });
    const count = parsed.count ?? null;
    if (count !== null && (typeof count !== "number" || !Number.isSafeInteger(count) || count < 1)) return json(400, { error: "count: a positive integer, or absent for every call" });
    state.licenseErrors.set(parsed.license, { code, remaining: count ?? Number.POSITIVE_INFINITY });
    return json(200, { ok: true });
  }
  if (method === "POST" && path === "/__control/outage") {
    if (!isRecord(parsed) || typeof parsed.on !== "boolean") return json(400, { error: "on: true or false" });
    const list = parsed.licenses;
    if (list !== undefined && !(Array.isArray(list) && list.every((l) => typeof l === "string"))) return json(400, { error: "licenses: string[] (absent: every API)" });
    const mode = parsed.mode === undefined ? "http503" : OUTAGE_MODES.find((m) => m === parsed.mode);
    if (!mode) return json(400, { error: `mode must be one of ${OUTAGE_MODES.join(", ")}` });
    if (list === undefined) {
      state.outage = parsed.on ? { ...state.outage, all: mode } : { all: null, codes: new Map() };
      return json(200, { ok: true });
    }
    for (const code of list) {
      if (parsed.on) state.outage.codes.set(code, mode);
      else state.outage.codes.delete(code);
    }
    return json(200, { ok: true });
  }
  if (method === "POST" && path === "/__control/clock") {
    const offset = isRecord(parsed) ? parsed.offsetMs : undefined;
    if (typeof offset !== "number" || !Number.isSafeInteger(offset)) return json(400, { error: "offsetMs: an integer number of milliseconds" });
    state.clockOffsetMs = offset;
    return json(200, { ok: true, offsetMs: offset });
  }
  if (method === "POST" && path === "/__control/fail") {
    if (!isRecord(parsed)) return json(400, { error: "body must be a JSON object" });
    if (parsed.mode === "reset") {
      Object.assign(state, initialState(options));
      return json(200, { ok: true, reset: true });
    }
    const mode = FAILURE_MODES.find((m) => m === parsed.mode);
    if (!mode) return json(400, { error: `mode must be one of ${[...FAILURE_MODES, "reset"].join(", ")}` });
    const api = parsed.api === undefined ? (mode === "partial" ? "usage" : "any") : API_FILTERS.find((a) => a === parsed.api);
    if (!api) return json(400, { error: `api must be one of ${API_FILTERS.join(", ")}` });
    const count = parsed.count === undefined ? 1 : parsed.count;
    if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 1) return json(400, { error: "count must be a positive integer" });
    const sns = parsed.meteringSns;
    if (sns !== undefined && !(Array.isArray(sns) && sns.every((s) => typeof s === "string"))) return json(400, { error: "meteringSns: string[]" });
    const fraction = parsed.fraction;
    if (fraction !== undefined && (typeof fraction !== "number" || fraction < 0 || fraction > 1)) return json(400, { error: "fraction: 0..1" });
    if (mode === "partial" && sns === undefined && fraction === undefined) return json(400, { error: "partial needs meteringSns or fraction" });
    if (mode === "code" && typeof parsed.code !== "string") return json(400, { error: "code needs the code to answer (e.g. 91381037)" });
    state.failures.push({
      mode,
      remaining: count,
      api,
      meteringSns: sns ?? null,
      fraction: fraction ?? null,
      code: typeof parsed.code === "string" ? parsed.code : "013",
      responseCode: typeof parsed.responseCode === "string" ? parsed.responseCode : "94060999",
      json: parsed.json !== false,
    });
    return json(200, { ok: true, pending: state.failures.length });
  }
  return json(404, { error: "unknown control route" });
}

/** Takes one use of the first pending failure that applies to `api`. Partial failures apply to the new push only. */
function takeFailure(state: FakeState, api: ApiName): InjectedFailure | null {
  const index = state.failures.findIndex((f) => matches(f.api, api) && (f.mode !== "partial" || api === "usage.new"));
  const failure = state.failures[index];
  if (!failure) return null;
  failure.remaining -= 1;
  if (failure.remaining <= 0) state.failures.splice(index, 1);
  state.calls.injected += 1;
  return failure;
}

// ---- HTTP plumbing ---------------------------------------------------------------------------------------------

function route(method: string, path: string): { api: ApiName; eventId?: string } | null {
  if (method === "GET" && path === PATHS.order) return { api: "order" };
  if (method !== "POST") return null;
  if (path === PATHS.usageNew) return { api: "usage.new" };
  if (path === PATHS.usageOld) return { api: "usage.old" };
  if (path === PATHS.licenseActivate) return { api: "license.activate" };
  if (path === PATHS.licenseHeartbeat) return { api: "license.heartbeat" };
  if (path === PATHS.softwareUsage) return { api: "license.softwareUsage" };
  const upload = PATHS.upload.exec(path);
  if (upload?.[1]) return { api: "upload", eventId: decodeOr(upload[1], upload[1]) };
  return null;
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString("utf8")) };
  } catch {
    return { ok: false };
  }
}

function send(res: ServerResponse, answer: Answer): void {
  const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
  res.writeHead(answer.status, { "Content-Type": answer.contentType ?? "application/json;charset=UTF-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

interface Call {
  req: IncomingMessage;
  api: ApiName;
  eventId: string | undefined;
  rawPath: string;
  rawQuery: string;
  body: Buffer;
  now: number;
  id: number;
  partial: InjectedFailure | null;
}

interface Secrets {
  credentials: Record<string, string>;
  usagePushKey: string;
}

function handleApi(state: FakeState, secrets: Secrets, call: Call): Answer {
  const { req, api, body, now } = call;
  // The new push is signed with the seller key only (§1.3); AK/SK is checked there too if the client sent it.
  if (api !== "usage.new" || req.headers.authorization !== undefined) {
    const refused = checkAkSk(req, call.rawPath, call.rawQuery, body, secrets.credentials, now);
    if (refused) {
      state.calls.authFailures += 1;
      return refused;
    }
  }
  if (api === "order") return queryOrder(state, call.rawQuery);
  if (api === "upload") return upload(state, call.eventId ?? "", headerText(req, "content-type") ?? "", body, now);
  const parsed = parseJson(body);
  if (api === "usage.new") {
    if (!parsed.ok) return usageError(400, "MKT.0101", "body is not JSON");
    const refused = checkUsagePushSignature(req, body, parsed.value, secrets.usagePushKey);
    if (refused) {
      state.calls.authFailures += 1;
      return refused;
    }
    return pushNew(state, parsed.value, now, call.id, call.partial);
  }
  if (api === "usage.old") return parsed.ok ? pushOld(state, parsed.value, now, call.id) : usageError(400, "MKT.0101", "body is not JSON");
  return parsed.ok ? license(state, api, parsed.value, now) : licenseError(400, "92020002", "body is not JSON");
}

/** Starts the fake on 127.0.0.1 (by default) and resolves once it listens. */
export async function startFakeMarketplace(options: FakeMarketplaceOptions = {}): Promise<FakeMarketplace> {
  const baseClock = options.now ?? Date.now;
  const secrets: Secrets = { credentials: options.credentials ?? DEV_CREDENTIALS, usagePushKey: options.usagePushKey ?? DEV_USAGE_PUSH_KEY };
  const state = initialState(options);
  const clock = () => baseClock() + state.clockOffsetMs;
  const hanging = new Set<ServerResponse>();

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = req.url ?? "/";
      const q = url.indexOf("?");
      const rawPath = q < 0 ? url : url.slice(0, q);
      const rawQuery = q < 0 ? "" : url.slice(q + 1);
      const method = req.method ?? "GET";
      if (body === null) return send(res, apigError(413, "APIGW.0201", "Request entity too large (12 MB)"));
      if (rawPath.startsWith("/__control/")) {
        const parsed = body.length === 0 ? { ok: true as const, value: {} } : parseJson(body);
        return send(res, parsed.ok ? control(state, options, method, rawPath, parsed.value) : json(400, { error: "body is not JSON" }));
      }
      const target = route(method, rawPath);
      if (!target) return send(res, apigError(404, "APIGW.0101", "The API does not exist or has not been published in the environment"));

      state.calls.total += 1;
      state.calls.byApi[target.api] = (state.calls.byApi[target.api] ?? 0) + 1;
      const callId = state.calls.total;
      const failure = takeFailure(state, target.api);
      if (failure?.mode === "timeout") {
        // Never answered; the client's own timeout ends it, or close() does.
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        return;
      }
      const outage = outageCovers(state, target.api, body);
      if (outage === "drop") {
        res.socket?.destroy();
        return;
      }
      if (outage === "http503") return send(res, { status: 503, body: "<html><body>503 Service Unavailable</body></html>", contentType: "text/html" });
      if (outage === "http500") return send(res, json(500, { error_code: "92020001", error_msg: "internal error (outage)" }));
      if (failure?.mode === "code") {
        // The Marketplace's business refusals come with HTTP 200 (upload 91381033–91381038, §2.4 E1).
        return send(res, json(200, { error_code: failure.code, error_msg: "refused (injected)" }));
      }
      if (failure?.mode === "http500") {
        if (!failure.json) return send(res, { status: 500, body: "<html><body>500 Internal Server Error</body></html>", contentType: "text/html" });
        const error = target.api === "order" ? { resultCode: "CBC.0999", resultMsg: "internal error (injected)" } : { error_code: "MKT.0999", error_msg: "internal error (injected)" };
        return send(res, json(500, error));
      }
      const answer = handleApi(state, secrets, {
        req,
        api: target.api,
        eventId: target.eventId,
        rawPath,
        rawQuery,
        body,
        now: clock(),
        id: callId,
        partial: failure?.mode === "partial" ? failure : null,
      });
      if (failure?.mode === "drop-after-accept") {
        // Whatever was stored stays stored; the caller only sees the connection die.
        res.socket?.destroy();
        return;
      }
      send(res, answer);
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, json(500, { error_code: "FAKE.ERROR", error_msg: String(error) }));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  if (options.unref) server.unref();
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.socket?.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---- command line ----------------------------------------------------------------------------------------------

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<void> {
  const port = Number(argument("port") ?? process.env.FAKE_MARKETPLACE_PORT ?? "8790");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not a port: ${port}`);
  const ak = argument("ak") ?? process.env.FAKE_MARKETPLACE_AK;
  const sk = argument("sk") ?? process.env.FAKE_MARKETPLACE_SK;
  const instances = argument("instances") ?? process.env.FAKE_MARKETPLACE_INSTANCES;
  const fake = await startFakeMarketplace({
    port,
    credentials: ak && sk ? { [ak]: sk } : undefined,
    usagePushKey: argument("usage-push-key") ?? process.env.FAKE_MARKETPLACE_USAGE_PUSH_KEY,
    knownInstances: instances ? instances.split(",").filter(Boolean) : null,
    anyOrder: process.argv.includes("--any-order"),
  });
  console.log(`fake marketplace listening on ${fake.url} (MARKETPLACE_API_BASE=${fake.url})`);
  const stop = () => void fake.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
