import { createHash } from "node:crypto";
import { canonicalJson } from "../protocol/canonical-json";

/**
 * What makes two calls "the same request": every parsed field except those the Marketplace changes on each retry
 * (`businessId`, spec §3.1) and the signature envelope. Key order and unknown fields do not matter.
 */
export function requestFingerprint(fields: Record<string, unknown>, volatile: readonly string[] = ["businessId"]): string {
  const kept = Object.fromEntries(Object.entries(fields).filter(([name]) => !volatile.includes(name)));
  return createHash("sha256").update(canonicalJson(kept)).digest("hex");
}
