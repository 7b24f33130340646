import type { IRequest } from "itty-router";
import { MAX_USAGE_BODY_BYTES, UsageBatchError, ingestUsage } from "../billing/usage-ingest";
import { GatewayError, toGatewayError } from "../protocol/errors";
import { log } from "../observability/log";
import { decodeUtf8, readRawBody } from "../protocol/inbound";
import { errorResponse } from "./errors";
import { requireSellerToken } from "./seller-auth";

/** POST /api/v1/usage: a batch of usage events; 200 with per-event results, 400 malformed, 413 too large. */
export async function postUsage(request: IRequest, env: Env): Promise<Response> {
  const started = Date.now();
  try {
    const denied = requireSellerToken(request, env);
    if (denied) return denied;
    let bytes: Uint8Array;
    try {
      bytes = await readRawBody(request, MAX_USAGE_BODY_BYTES);
    } catch {
      return errorResponse(413, `request body exceeds ${MAX_USAGE_BODY_BYTES} bytes`);
    }
    if (!/^application\/json\s*(;|$)/i.test((request.headers.get("content-type") ?? "").trim())) {
      // 400, not 415: the contract's error statuses are 400, 401, 404, 409, 413 and 503 only.
      return errorResponse(400, "content type must be application/json");
    }
    let body: unknown;
    try {
      body = JSON.parse(decodeUtf8(bytes));
    } catch {
      return errorResponse(400, "body is not valid UTF-8 JSON");
    }
    const result = await ingestUsage(env, body, started);
    return Response.json(result, { status: 200 });
  } catch (error) {
    if (error instanceof UsageBatchError) return errorResponse(error.status, error.message);
    const failure = error instanceof GatewayError ? error : toGatewayError(error);
    log("error", "seller_api.failed", { route: "POST /api/v1/usage", detail: failure.detail ?? failure.message, ms: Date.now() - started });
    return errorResponse(500, "internal error");
  }
}
