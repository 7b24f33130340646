import { bearerTokenIs } from "../crypto/bearer-token";

/**
 * Bearer ADMIN_TOKEN, read from the binding itself, not the parsed settings: the operator must reach
 * /admin/api/health exactly when some other setting is broken. Returns undefined when authorised, else the 401.
 */
export function requireAdmin(request: Request, env: Env): Response | undefined {
  const expected = typeof env.ADMIN_TOKEN === "string" ? env.ADMIN_TOKEN.trim() : "";
  if (bearerTokenIs(request, expected)) return undefined;
  return Response.json(
    { error: "missing or invalid admin bearer token" },
    { status: 401, headers: { "WWW-Authenticate": 'Bearer realm="admin"', "Cache-Control": "no-store" } },
  );
}
