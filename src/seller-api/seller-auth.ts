import { bearerTokenIs } from "../crypto/bearer-token";
import { getSettings } from "../env";
import { toGatewayError } from "../protocol/errors";
import { log } from "../observability/log";
import { MISCONFIGURED, UNAUTHORISED, errorResponse } from "./errors";

/**
 * Bearer SELLER_API_TOKEN for every /api/v1 route, compared in constant time. Returns null when authorised, else the
 * answer to send: 503 while the settings do not parse (no token can be checked against a guess), 401 otherwise.
 */
export function requireSellerToken(request: Request, env: Env): Response | null {
  let token: string;
  try {
    token = getSettings(env).sellerApiToken;
  } catch (error) {
    log("error", "seller_api.misconfigured", { detail: toGatewayError(error).detail ?? "settings invalid" });
    return errorResponse(503, MISCONFIGURED);
  }
  if (bearerTokenIs(request, token)) return null;
  return errorResponse(401, UNAUTHORISED);
}
