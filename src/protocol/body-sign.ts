import { type Bytes, hmacSha256 } from "./hmac";

/**
 * `Body-Sign` response header, spec saas-production-interface §2.4: Base64(HMAC-SHA256(accessKey, exact body)).
 * The quotes and the single space after the comma are part of the format the debugger checks.
 */
export function createBodySign(accessKey: string, body: Bytes): string {
  const signature = hmacSha256(accessKey, body).toString("base64");
  return `sign_type="HMAC-SHA256", signature="${signature}"`;
}

const BODY_SIGN = /^sign_type="HMAC-SHA256", signature="([A-Za-z0-9+/]+={0,2})"$/;

/** Used by our tests and the simulator to check our own answers the way the Marketplace does. */
export function verifyBodySign(accessKey: string, body: Bytes, header: string | null): boolean {
  const match = header ? BODY_SIGN.exec(header) : null;
  if (!match) return false;
  return match[1] === hmacSha256(accessKey, body).toString("base64");
}
