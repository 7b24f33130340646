import { createHash } from "node:crypto";

/**
 * Idempotency key of a purchase (spec README point 5): orderId + orderLineId, or orderId + productId for
 * pay-per-use, where one order yields one create per metered product.
 */
export function createKeyOf(orderId: string, line: { orderLineId: string } | { productId: string }): string {
  return "orderLineId" in line ? `create:${orderId}:line:${line.orderLineId}` : `create:${orderId}:product:${line.productId}`;
}

/**
 * The instance id is a pure function of the create key, so every retry of a create reaches the same actor before
 * anything is stored. 32 hex characters: well inside the Marketplace's 64, and not guessable from the order id
 * alone is not a goal (the Marketplace knows the order); uniqueness is.
 */
export function instanceIdFor(createKey: string): string {
  return createHash("sha256").update(createKey).digest("hex").slice(0, 32);
}
