import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Bearer ADMIN_TOKEN, compared in constant time over SHA-256 digests so neither the token's bytes nor its length
 * show in the timing. Read from the binding itself, not the parsed settings: the operator must reach
 * /admin/api/health exactly when some other setting is broken. Returns undefined when authorised, else the 401.
 */
export function requireAdmin(request: Request, env: Env): Response | undefined {
  const expected = typeof env.ADMIN_TOKEN === "string" ? env.ADMIN_TOKEN.trim() : "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
  if (expected !== "" && match?.[1] !== undefined && timingSafeEqual(digest(match[1]), digest(expected))) return undefined;
  return Response.json(
    { error: "missing or invalid admin bearer token" },
    { status: 401, headers: { "WWW-Authenticate": 'Bearer realm="admin"', "Cache-Control": "no-store" } },
  );
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
