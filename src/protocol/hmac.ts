import { createHmac, timingSafeEqual } from "node:crypto";

export type Bytes = Uint8Array | string;

export function hmacSha256(key: Bytes, message: Bytes): Buffer {
  return createHmac("sha256", key).update(message).digest();
}

/** Constant-time equality of two strings of any length (the length itself is not secret). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}
