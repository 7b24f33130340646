import { createHmac } from "node:crypto";

/*
 * The Marketplace's side of Body-Sign and the V1 authToken, written from the spec's text (saas-production-interface
 * §2.4, §5.1 and the §10 pseudo-code), not from src/protocol: test helpers sign and check with these, so a test never
 * passes because the gateway agrees with itself. test/protocol/*.test.ts pins these against WebCrypto and fixed values.
 */

/** §2.4: `Body-Sign: sign_type="HMAC-SHA256", signature="<Base64(HMAC_SHA256(key = accessKey, msg = exact body))>"`. */
export function specBodySign(accessKey: string, body: string): string {
  return `sign_type="HMAC-SHA256", signature="${createHmac("sha256", accessKey).update(body, "utf8").digest("base64")}"`;
}

/** §5.1: Base64(HMAC_SHA256(accessKey + timeStamp, "k=v&…" of every parameter but authToken, names sorted)). */
export function specV1AuthToken(accessKey: string, params: Record<string, string>): string {
  const names = Object.keys(params)
    .filter((name) => name !== "authToken")
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const message = names.map((name) => `${name}=${params[name]}`).join("&");
  return createHmac("sha256", accessKey + (params.timeStamp ?? "")).update(message, "utf8").digest("base64");
}

/** §5.1 kit POST: the body's top-level fields, blank ones skipped; lists travel as (compact) JSON strings. */
export function specV1KitParams(body: Record<string, unknown>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    if (value === null || value === undefined) continue;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    if (text.trim() !== "") params[name] = text;
  }
  return params;
}
