import { randomBytes, randomUUID } from "node:crypto";

/** Fresh ids per run (debug cases must also pass against ids from earlier runs, which the dial tests replay). */
export const hex = (bytes: number) => randomBytes(bytes).toString("hex").toUpperCase();
export const debugOrderId = (prefix = "CSDEBUG") => `${prefix}${hex(6)}`;
export const businessId = () => randomUUID();

/** UTC yyyyMMddHHmmss, the expireTime of refreshInstance (§3.3) and V1 calls (§5.3). */
export function compactUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

export const inOneYear = () => compactUtc(Date.now() + 365 * 86_400_000);

/** The seller API's authorization in a printed command: the token stays in the seller's shell, never in the output. */
export const bearer = `-H "Authorization: Bearer $SELLER_API_TOKEN"`;
