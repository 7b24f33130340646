import { sealOrderSnapshot } from "../crypto/order-snapshot";
import type { Settings } from "../env";
import type { OrderTruth } from "../marketplace-api/order.api";
import type { statements } from "./instance.repo";

/**
 * Why an order is fetched: a purchase to provision, an upgrade whose new product/SKU the instance takes on, or a
 * record for the statement (a renewal's, trial-to-paid's, renewal refund's or unsubscription's order): stored with its
 * amounts, changing nothing about the instance.
 */
export type OrderFetchPurpose = "create" | "upgrade" | "record";

export interface PendingOrderFetch {
  orderId: string;
  orderLineId: string | null;
  /** V1 calls carry no line id: the product picks the line (pay-per-use orders have one per product). */
  productId?: string | null;
  purpose: OrderFetchPurpose;
  activity: string;
  attempts: number;
  nextAt: number;
}

/**
 * Retry schedule of query order after the first reply: the first retry within 10 s (docs/seller-contract.md), then backing
 * off to every 15 minutes. A purchase's retries end with the Marketplace's 3-hour window (provisioning-window.ts);
 * an upgrade's go on for ORDER_FETCH_MAX_ATTEMPTS, about half a day.
 */
export const ORDER_FETCH_BACKOFF_MS = [5_000, 15_000, 45_000, 120_000, 300_000, 600_000] as const;
export const ORDER_FETCH_MAX_ATTEMPTS = 50;
const ORDER_FETCH_STEADY_MS = 900_000;

export function orderFetchDelay(attempts: number): number {
  return ORDER_FETCH_BACKOFF_MS[attempts - 1] ?? ORDER_FETCH_STEADY_MS;
}

export function shouldGiveUp(retryable: boolean, attempts: number): boolean {
  return !retryable || attempts >= ORDER_FETCH_MAX_ATTEMPTS;
}

type OrderRow = Parameters<typeof statements.upsertOrder>[1];

export function emptyOrderRow(instanceId: string, item: PendingOrderFetch, now: number): OrderRow {
  return {
    orderId: item.orderId,
    orderLineId: item.orderLineId ?? "",
    instanceId,
    activity: item.activity,
    fetchState: "pending",
    fetchAttempts: item.attempts,
    nextFetchAt: null,
    lastError: null,
    orderType: null,
    productId: null,
    skuCode: null,
    chargingMode: null,
    periodType: null,
    periodNumber: null,
    expireAt: null,
    customerId: null,
    customerName: null,
    amount: null,
    listAmount: null,
    orderCreatedAt: null,
    snapshot: null,
    fetchedAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** The stored order once query order answered; the buyer's personal fields of the snapshot sealed with DATA_KEY. */
export async function orderRowOf(settings: Settings, instanceId: string, item: PendingOrderFetch, truth: OrderTruth, now: number): Promise<OrderRow> {
  return {
    ...emptyOrderRow(instanceId, item, now),
    fetchState: "fetched",
    fetchAttempts: item.attempts + 1,
    orderType: truth.orderType,
    productId: truth.productId,
    skuCode: truth.skuCode,
    chargingMode: truth.chargingMode,
    periodType: truth.periodType,
    periodNumber: truth.periodNumber,
    expireAt: truth.expireAt,
    customerId: truth.customerId,
    customerName: truth.customerName,
    amount: truth.amount,
    listAmount: truth.listAmount,
    orderCreatedAt: truth.createdAt,
    // Fetched, but what the Marketplace sent malformed is said where the statement shows the line's amount as null.
    lastError: truth.problems.length > 0 ? truth.problems.join("; ").slice(0, 500) : null,
    snapshot: await sealOrderSnapshot(settings.dataKey, truth.snapshot),
    fetchedAt: now,
  };
}

/**
 * The background fetch of a lifecycle call's own order, for the statement (docs/lifecycle-rules.md "Orders recorded for
 * the statement"): every renewal, trial-to-paid, renewal refund and renewal change, and the refund order of an
 * unsubscription. Debug calls never ask query order; a release naming the purchase's own order (V1 sends it) has it
 * stored already. The scene goes with the activity: a renewal refund is told apart by it.
 */
export function recordFetchOf(
  call: { activity: string; isTest: boolean; receivedAt: number },
  command: { event: string; orderId?: string; orderLineId?: string; productId?: string; scene?: string },
  purchaseOrderId: string,
): PendingOrderFetch | undefined {
  if (call.isTest || !command.orderId) return undefined;
  if (command.event !== "renew" && command.event !== "release") return undefined;
  if (command.event === "release" && command.orderId === purchaseOrderId) return undefined;
  return {
    orderId: command.orderId,
    orderLineId: command.orderLineId ?? null,
    productId: command.productId ?? null,
    purpose: "record",
    activity: command.scene ? `${call.activity}:${command.scene}` : call.activity,
    attempts: 0,
    nextAt: call.receivedAt,
  };
}
