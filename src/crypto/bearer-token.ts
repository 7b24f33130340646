import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Whether the request carries `Authorization: Bearer <expected>`. Compared in constant time over SHA-256 digests,
 * so neither the token's bytes nor its length show in the timing; an empty expected token matches nothing.
 */
export function bearerTokenIs(request: Request, expected: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
  return expected !== "" && match?.[1] !== undefined && timingSafeEqual(digest(match[1]), digest(expected));
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
