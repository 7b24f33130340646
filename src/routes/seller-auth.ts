import { getSettings } from "../env";
import { safeEqual } from "../protocol/hmac";

/**
 * Bearer SELLER_API_TOKEN for every /api/v1 route, compared in constant time. Returns null when authorised, else the
 * 401 to send, in the seller API's `{ "error": … }` shape.
 */
export function requireSellerToken(request: Request, env: Env): Response | null {
  const token = getSettings(env).sellerApiToken;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
  if (match?.[1] !== undefined && safeEqual(match[1], token)) return null;
  return Response.json(
    { error: "missing or invalid bearer token" },
    { status: 401, headers: { "WWW-Authenticate": 'Bearer realm="seller-api"' } },
  );
}
