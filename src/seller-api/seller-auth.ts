import { bearerTokenIs, bearerTokenOf } from "../crypto/bearer-token";
import { verifyLicenseClientToken } from "../crypto/license-client-token";
import { type FeatureSettings, featureSettings, getSettings } from "../env";
import { toGatewayError } from "../protocol/errors";
import { log } from "../observability/log";
import { MISCONFIGURED, UNAUTHORISED, errorResponse } from "./errors";

/** Who called: the seller's own product (SELLER_API_TOKEN), or its installed software with a product's license client token. */
export type Caller = { kind: "seller" } | { kind: "license-client"; productId: string; generation: number };

/**
 * Bearer SELLER_API_TOKEN for every /api/v1 route, compared in constant time; on the license-code routes a license
 * client token (src/crypto/license-client-token.ts) as well. Returns the caller, or the answer to send: 503 while the
 * Marketplace's settings or the seller API's own do not parse (no token is checked against a guess, nor a token that
 * is also the admin token), 401 otherwise.
 */
export function authoriseCaller(request: Request, env: Env, allowLicenseClient: boolean): Caller | Response {
  let settings: ReturnType<typeof getSettings>;
  let own: FeatureSettings<"sellerApi">;
  try {
    // The Marketplace's group too: the seller API serves what those settings shape, never a guess at them.
    settings = getSettings(env);
    own = featureSettings(env, "sellerApi");
  } catch (error) {
    log("error", "seller_api.misconfigured", { detail: toGatewayError(error).detail ?? "settings invalid" });
    return errorResponse(503, MISCONFIGURED);
  }
  if (bearerTokenIs(request, own.token)) return { kind: "seller" };
  const token = allowLicenseClient ? bearerTokenOf(request) : undefined;
  const client = token === undefined ? null : verifyLicenseClientToken(token, settings.dataKey, settings.licenseClientTokenGeneration);
  if (client) return { kind: "license-client", productId: client.productId, generation: client.generation };
  return errorResponse(401, UNAUTHORISED);
}

/** The seller token only: null when authorised, else the answer to send. */
export function requireSellerToken(request: Request, env: Env): Response | null {
  const caller = authoriseCaller(request, env, false);
  return caller instanceof Response ? caller : null;
}
