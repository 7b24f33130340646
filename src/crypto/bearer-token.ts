import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Whether the request carries `Authorization: Bearer <expected>`. Compared in constant time over SHA-256 digests,
 * so neither the token's bytes nor its length show in the timing; an empty expected token matches nothing.
 */
export function bearerTokenIs(request: Request, expected: string): boolean {
  const token = bearerTokenOf(request);
  return expected !== "" && token !== undefined && timingSafeEqual(digest(token), digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export function bearerTokenOf(request: Request): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "")?.[1];
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
