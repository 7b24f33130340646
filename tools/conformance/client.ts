import { randomBytes } from "node:crypto";
import { createV2Signature } from "../../src/protocol/v2-signature";
import { formatKitTimeStamp, formatV1TimeStamp } from "../../src/protocol/time-formats";
import { specV1AuthToken, specV1KitParams } from "./spec-signatures";
import { jsonObjectOf } from "../../src/operations/self-check/interfaces/debugger-rules";

/*
 * Requests built and signed the way the Marketplace sends them (saas-production-interface §2.2, §2.3, §5.1),
 * with the signing functions the test suite uses: src/protocol/v2-signature for V2 and kit, spec-signatures.ts for
 * the V1 authToken. A prepared request is plain data, so a replay sends exactly the same bytes again.
 */

export interface Prepared {
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: Record<string, unknown> | null;
  bodySign: string | null;
  ms: number;
  /** A network failure or timeout: no HTTP answer at all. */
  error?: string;
}

export interface V2SignOptions {
  timestamp?: number | string;
  nonce?: string;
  /** Sent instead of the right signature (a negative case). */
  signature?: string;
}

/** The gateway's base URL, whatever the user pasted: a trailing /saas (the production address) or slash is dropped. */
export function baseUrl(url: string): string {
  const parsed = new URL(url);
  parsed.search = "";
  parsed.hash = "";
  return parsed.toString().replace(/\/+$/, "").replace(/\/saas$/, "");
}

/** 64 hex characters, as the spec's examples show. */
export const freshNonce = () => randomBytes(32).toString("hex");

function v2Parts(key: string, raw: string, options: V2SignOptions) {
  const timestamp = String(options.timestamp ?? Date.now());
  const nonce = options.nonce ?? freshNonce();
  const signature = options.signature ?? createV2Signature(key, raw, timestamp, nonce);
  return { timestamp, nonce, signature };
}

const JSON_HEADERS = { "Content-Type": "application/json;charset=utf8", Accept: "application/json" };

/** A V2 basic call (also /license and /orders, which use the same scheme): signature, timestamp, nonce in the query. */
export function v2Call(base: string, path: string, key: string, body: object, options: V2SignOptions = {}): Prepared {
  const raw = JSON.stringify(body);
  const { timestamp, nonce, signature } = v2Parts(key, raw, options);
  return { method: "POST", url: `${base}${path}?${new URLSearchParams({ signature, timestamp, nonce })}`, headers: { ...JSON_HEADERS }, body: raw };
}

/** A V2 kit sync: the same signature in x-sign, x-timestamp, x-nonce. */
export function kitV2Call(base: string, name: string, key: string, body: object, options: V2SignOptions = {}): Prepared {
  const raw = JSON.stringify(body);
  const { timestamp, nonce, signature } = v2Parts(key, raw, options);
  return {
    method: "POST",
    url: `${base}/saas/produceAPI/v2/${name}`,
    headers: { ...JSON_HEADERS, "x-sign": signature, "x-timestamp": timestamp, "x-nonce": nonce },
    body: raw,
  };
}

/** A V1 basic call: GET with every field in the query and authToken over them (UTC yyyyMMddHHmmssSSS timeStamp). */
export function v1Get(base: string, key: string, params: Record<string, string>, options: { timeStamp?: number; authToken?: string } = {}): Prepared {
  const all = { ...params, timeStamp: formatV1TimeStamp(options.timeStamp ?? Date.now()) };
  const authToken = options.authToken ?? specV1AuthToken(key, all);
  return { method: "GET", url: `${base}/saas/v1?${new URLSearchParams({ ...all, authToken })}`, headers: { Accept: "application/json" } };
}

/** A V1 kit sync: POST JSON, authToken header over the top-level fields, blanks skipped. */
export function kitV1Call(base: string, name: string, key: string, body: Record<string, unknown>, options: { authToken?: string } = {}): Prepared {
  const authToken = options.authToken ?? specV1AuthToken(key, specV1KitParams(body));
  return { method: "POST", url: `${base}/saas/v1/produceAPI/${name}`, headers: { ...JSON_HEADERS, authToken }, body: JSON.stringify(body) };
}

/** The kit's timeStamp: UTC+8 yyyyMMddHHmmssSSS, strictly increasing within a run (syncs are ordered by it). */
let lastKitTime = 0;
export function kitTimeStamp(): string {
  lastKitTime = Math.max(Date.now(), lastKitTime + 1);
  return formatKitTimeStamp(lastKitTime);
}

/** The Marketplace's platform timeout is 5 s by the requirement pages and 20 s by the debugging FAQ (spec §2.1). */
export const TIMEOUT_MS = 20_000;

export async function send(request: Prepared, timeoutMs = TIMEOUT_MS): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    const json = jsonObjectOf(text);
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      text,
      json,
      bodySign: response.headers.get("Body-Sign"),
      ms: Math.round(performance.now() - started),
    };
  } catch (error) {
    const reason = error instanceof Error ? (error.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : `${error.message}${causeOf(error)}`) : String(error);
    return { status: 0, contentType: "", text: "", json: null, bodySign: null, ms: Math.round(performance.now() - started), error: reason };
  }
}

function causeOf(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? ` (${cause.message})` : "";
}
