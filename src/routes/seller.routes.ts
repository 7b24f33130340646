import type { IRequest } from "itty-router";
import { MAX_USAGE_BODY_BYTES, UsageBatchError, ingestUsage } from "../billing/usage-ingest";
import { getSettings } from "../env";
import { GatewayError, toGatewayError } from "../errors";
import { log } from "../observability/log";
import { safeEqual } from "../protocol/hmac";
import { decodeUtf8, readRawBody } from "../protocol/inbound";

/**
 * The seller's own API (design.md: /api/v1). Plain JSON in and out, never the Marketplace's protocol: errors are
 * `{ "error": "..." }` with an HTTP status.
 */

function jsonError(status: number, error: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error }, { status, headers });
}

/** Bearer SELLER_API_TOKEN, compared in constant time; null when authorised, else the 401 to send. */
function unauthorised(request: Request, env: Env): Response | null {
  const token = getSettings(env).sellerApiToken;
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match?.[1] !== undefined && safeEqual(match[1], token)) return null;
  return jsonError(401, "missing or invalid bearer token", { "WWW-Authenticate": 'Bearer realm="seller-api"' });
}

/** POST /api/v1/usage: a batch of usage events; 200 with per-event results, 400 malformed, 413 too large. */
export async function postUsage(request: IRequest, env: Env): Promise<Response> {
  const started = Date.now();
  try {
    const denied = unauthorised(request, env);
    if (denied) return denied;
    let bytes: Uint8Array;
    try {
      bytes = await readRawBody(request, MAX_USAGE_BODY_BYTES);
    } catch {
      return jsonError(413, `request body exceeds ${MAX_USAGE_BODY_BYTES} bytes`);
    }
    if (!/^application\/json\s*(;|$)/i.test((request.headers.get("content-type") ?? "").trim())) {
      return jsonError(415, "content type must be application/json");
    }
    let body: unknown;
    try {
      body = JSON.parse(decodeUtf8(bytes));
    } catch {
      return jsonError(400, "body is not valid UTF-8 JSON");
    }
    const result = await ingestUsage(env, body, started);
    return Response.json(result, { status: 200 });
  } catch (error) {
    if (error instanceof UsageBatchError) return jsonError(error.status, error.message);
    const failure = error instanceof GatewayError ? error : toGatewayError(error);
    log("error", "seller_api.failed", { route: "POST /api/v1/usage", detail: failure.detail ?? failure.message, ms: Date.now() - started });
    return jsonError(500, "internal error");
  }
}
