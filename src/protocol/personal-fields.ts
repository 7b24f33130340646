import { createHmac } from "node:crypto";
import type { Bytes } from "./hmac";

/**
 * Fields of a Marketplace callback that name or reach a person, wherever they appear in the body (top level in V1
 * §5.3; inside `buyerInfo` in the richer V2 `newInstance` variant of §3.1; the query-order BuyerInfo of
 * marketplace-open-apis §2.1). `saasExtendParams` and `extendParams` are what the buyer typed into the product's
 * extra form fields, so they count as personal too. Kept: `customerId` (the account id every order and support case
 * refers to, also in `orders.customer_id`) and everything that defines the purchase.
 */
export const PERSONAL_FIELDS: ReadonlySet<string> = new Set([
  "customerName",
  "customerRealName",
  "userId",
  "userName",
  "mobilePhone",
  "email",
  "saasExtendParams",
  "extendParams",
]);

/** Stands where a personal field was, so the record still shows which fields came. */
export const REMOVED = "[removed]";

/** Name of the digest field added to the recorded request. */
export const BODY_DIGEST_FIELD = "receivedBodyHmac";

/**
 * The request as the durable inbox keeps it: `fields` with every personal field (at any depth) replaced by
 * "[removed]", plus `receivedBodyHmac` = hex HMAC-SHA-256 of the exact request as received. The digest lets an
 * operator holding the key prove that a body (from the Marketplace's logs, say) is the one we got. It is keyed
 * (derive it from DATA_KEY, see inboxDigestKey) because a plain SHA-256 would give a phone number or a name back to
 * anyone who reads the row and tries the few billion candidates; the rest of the body is stored beside it.
 */
export function withoutPersonalFields(fields: Record<string, unknown>, received: Bytes, digestKey: Uint8Array): string {
  const kept = masked(fields) as Record<string, unknown>;
  return JSON.stringify({ ...kept, [BODY_DIGEST_FIELD]: createHmac("sha256", digestKey).update(received).digest("hex") });
}

/** `fields` with every personal field, at any depth, replaced by "[removed]": for records kept beyond the inbox. */
export function withPersonalFieldsRemoved(fields: Record<string, unknown>): Record<string, unknown> {
  return masked(fields) as Record<string, unknown>;
}

function masked(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([name, inner]) => [name, PERSONAL_FIELDS.has(name) ? REMOVED : masked(inner)]));
}
