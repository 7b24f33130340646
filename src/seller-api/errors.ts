/**
 * The seller API's one error type (docs/seller-contract.md: `{"error": "<message>"}` with 400, 401, 404, 409, 413 or 503).
 * Handlers throw it; `errorResponse` is the only place that turns it into an answer.
 */
export type SellerErrorStatus = 400 | 401 | 404 | 409 | 413 | 503;

export class SellerApiError extends Error {
  override readonly name = "SellerApiError";
  constructor(
    readonly status: SellerErrorStatus,
    message: string,
  ) {
    super(message);
  }
}

/** Settings are broken: the operator, not the seller, must act; /admin/api/health names the setting. */
export const MISCONFIGURED = "gateway misconfigured: see /admin/api/health";

/** One message for every token failure, so a caller cannot tell a missing token from a wrong one. */
export const UNAUTHORISED = "missing or invalid bearer token";

export function errorResponse(status: SellerErrorStatus | 500, error: string): Response {
  const headers: Record<string, string> = { "Cache-Control": "no-store" };
  if (status === 401) headers["WWW-Authenticate"] = 'Bearer realm="seller-api"';
  return Response.json({ error }, { status, headers });
}

/**
 * 429 with Retry-After (whole seconds, at least 1): the license-code routes' answer when a caller has spent its share
 * of the seller's open-API quota, or a code's usage queue is full (docs/license-rules.md rules 3 and 4).
 */
export function retryLater(error: string, retryAfterSeconds: number): Response {
  const seconds = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  return Response.json({ error }, { status: 429, headers: { "Cache-Control": "no-store", "Retry-After": seconds } });
}
