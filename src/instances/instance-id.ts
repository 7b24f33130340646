import { createHash } from "node:crypto";
import { compoundKey } from "../db/compound-key";

/**
 * Idempotency key of a purchase (spec README point 5): orderId + orderLineId, or orderId + productId for
 * pay-per-use, where one order yields one create per metered product.
 */
export function createKeyOf(orderId: string, line: { orderLineId: string } | { productId: string }, isTest: boolean): string {
  // `create:<orderId>:line:<orderLineId>` for ids without ':', as every stored key and instance id was made.
  const key = "orderLineId" in line ? compoundKey("create", [orderId, "line", line.orderLineId]) : compoundKey("create", [orderId, "product", line.productId]);
  // A debug case and a real purchase may carry the same order id: they must never meet in one instance.
  return isTest ? `debug:${key}` : key;
}

/**
 * The instance id is a pure function of the create key, so every retry of a create reaches the same actor before
 * anything is stored. 32 hex characters: well inside the Marketplace's 64, and not guessable from the order id
 * alone is not a goal (the Marketplace knows the order); uniqueness is.
 */
export function instanceIdFor(createKey: string): string {
  return createHash("sha256").update(createKey).digest("hex").slice(0, 32);
}

/**
 * V1 carries no orderLineId. A V1 purchase meets its V2 counterpart (same order, same instance) through the line id
 * the Marketplace gives the only line of an order: `<orderId>-000001`, the format spec §3.1 shows. Pay-per-use
 * (chargingMode 0) keys on orderId + productId, as in V2 (spec §5.3, §9). This is the one place that assumption lives.
 */
export const V1_ORDER_LINE_SUFFIX = "-000001";
export const V1_PAY_PER_USE = 0;

export function v1CreateKey(orderId: string, productId: string, chargingMode: number | undefined, isTest: boolean): string {
  return chargingMode === V1_PAY_PER_USE
    ? createKeyOf(orderId, { productId }, isTest)
    : createKeyOf(orderId, { orderLineId: `${orderId}${V1_ORDER_LINE_SUFFIX}` }, isTest);
}
