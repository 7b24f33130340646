import { signAkSk } from "../protocol/aksk-signer";
import { MarketplaceApiError, isRetryableCode } from "./errors";

export interface OpenApiCredentials {
  ak: string;
  sk: string;
  apiBase: string;
}

export interface OpenApiRequest {
  api: string;
  method: "GET" | "POST";
  path: string;
  query?: Record<string, string>;
  /** The exact bytes to send and sign; a string goes out as UTF-8. */
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 8_000;

/** Sends one AK/SK-signed request and returns the parsed JSON body with its HTTP status; throws typed errors only. */
export async function callOpenApi(
  credentials: OpenApiCredentials,
  request: OpenApiRequest,
  now: Date = new Date(),
): Promise<{ status: number; json: Record<string, unknown> }> {
  const url = new URL(credentials.apiBase + request.path);
  for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.append(name, value);
  const body = request.body ?? "";
  const signed = signAkSk({
    method: request.method,
    url,
    headers: { "Content-Type": "application/json", ...request.headers },
    body,
    ak: credentials.ak,
    sk: credentials.sk,
    sdkDate: now,
  });
  return sendJson(request.api, url, { method: request.method, headers: signed.headers, body: request.method === "GET" ? undefined : body }, request.timeoutMs);
}

export async function sendJson(
  api: string,
  url: URL,
  init: { method: string; headers: Record<string, string>; body: string | Uint8Array | undefined },
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<{ status: number; json: Record<string, unknown> }> {
  // Host is a forbidden header for fetch; the runtime sets it from the URL, which is what we signed.
  const headers = Object.fromEntries(Object.entries(init.headers).filter(([name]) => name.toLowerCase() !== "host"));
  let response: Response;
  try {
    response = await fetch(url, { method: init.method, headers, body: init.body, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    throw new MarketplaceApiError(api, timedOut ? "TIMEOUT" : "NETWORK", timedOut ? `no answer within ${timeoutMs} ms` : String(error), true);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    // The status line arrived but the body did not (connection cut, or the timeout fired mid-body): the request may
    // have been applied, so only a resend that is idempotent on the Marketplace's side is safe. Callers know which.
    throw new MarketplaceApiError(api, "NETWORK", `answer body lost: ${String(error)}`, true, response.status);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MarketplaceApiError(api, `HTTP_${response.status}`, "answer is not JSON", isRetryableCode("", response.status), response.status);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new MarketplaceApiError(api, `HTTP_${response.status}`, "answer is not a JSON object", isRetryableCode("", response.status), response.status);
  }
  return { status: response.status, json: json as Record<string, unknown> };
}

/**
 * The result code and message of an answer. Query order answers `resultCode`/`resultMsg`; usage push, upload, license
 * and APIG's own errors answer `error_code`/`error_msg` (spec §2.1–§2.4). Reading both names everywhere costs nothing
 * and survives the Marketplace mixing them up.
 */
export function resultOf(json: Record<string, unknown>): { code: string; message: string } {
  const code = json.resultCode ?? json.error_code;
  const message = json.resultMsg ?? json.error_msg;
  return {
    code: typeof code === "string" || typeof code === "number" ? String(code) : "",
    message: typeof message === "string" ? message : "",
  };
}

/** The typed error for an answer that is not a success; retryable per errors.ts. */
export function failureOf(api: string, status: number, json: Record<string, unknown>): MarketplaceApiError {
  const { code, message } = resultOf(json);
  return new MarketplaceApiError(api, code || `HTTP_${status}`, message || "call failed", isRetryableCode(code, status), status);
}
