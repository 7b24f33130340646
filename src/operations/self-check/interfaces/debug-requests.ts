import { createV1AuthToken } from "../../../protocol/v1-auth-token";
import { createV2Signature } from "../../../protocol/v2-signature";
import { formatKitTimeStamp, formatV1TimeStamp } from "../../../protocol/time-formats";

/*
 * Requests built and signed as the Marketplace sends them (saas-production-interface §2.2, §2.3, §5.1), with the
 * gateway's own protocol functions: tools/conformance signs with node-only helpers the Worker does not bundle.
 */

const JSON_HEADERS = { "Content-Type": "application/json;charset=utf8", Accept: "application/json" };

function hex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

export const freshNonce = (): string => hex(32);
export const randomHex = (bytes: number): string => hex(bytes).toUpperCase();

/** V2 basic, /license and /orders: signature, timestamp and nonce in the query. */
export function v2Request(origin: string, path: string, key: string, body: object): Request {
  const raw = JSON.stringify(body);
  const timestamp = String(Date.now());
  const nonce = freshNonce();
  const signature = createV2Signature(key, raw, timestamp, nonce);
  return new Request(`${origin}${path}?${new URLSearchParams({ signature, timestamp, nonce })}`, { method: "POST", headers: JSON_HEADERS, body: raw });
}

/** V2 kit sync: the same signature in x-sign, x-timestamp, x-nonce. */
export function kitV2Request(origin: string, name: string, key: string, body: object): Request {
  const raw = JSON.stringify(body);
  const timestamp = String(Date.now());
  const nonce = freshNonce();
  const headers = { ...JSON_HEADERS, "x-sign": createV2Signature(key, raw, timestamp, nonce), "x-timestamp": timestamp, "x-nonce": nonce };
  return new Request(`${origin}/saas/produceAPI/v2/${name}`, { method: "POST", headers, body: raw });
}

/** V1 basic: GET with every field in the query and the authToken over them. */
export function v1Request(origin: string, key: string, params: Record<string, string>): Request {
  const all = { ...params, timeStamp: formatV1TimeStamp(Date.now()) };
  return new Request(`${origin}/saas/v1?${new URLSearchParams({ ...all, authToken: createV1AuthToken(key, all) })}`, { headers: { Accept: "application/json" } });
}

/** Kit timeStamps order syncs: strictly increasing within the process. */
let lastKitTime = 0;
export function kitTimeStamp(): string {
  lastKitTime = Math.max(Date.now(), lastKitTime + 1);
  return formatKitTimeStamp(lastKitTime);
}

/** UTC yyyyMMddHHmmss, the expireTime of refreshInstance (§3.3) and V1 calls (§5.3). */
export function compactUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14);
}
