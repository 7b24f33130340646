import { and, asc, eq, lte, min } from "drizzle-orm";
import type { Db } from "../db/client";
import { type LicenseCodeOrder, licenseCodeOrders } from "../db/schema/license-codes";
import type { OrderTruth } from "../marketplace-api/order.api";
import type { LicenseCodeCallback } from "./license-code";

/*
 * Every order a license-code callback names (a renewal, a renewal refund, the refund order of an unsubscription),
 * recorded for the statement and fetched from query order by the code's actor in the background, with the SaaS
 * orders' backoff (src/instances/order-fetch.ts). license_codes keeps only a code's latest order.
 */

/**
 * The order a callback names, when it is to be fetched: real calls only (docs/seller-contract.md "Order first": debug
 * calls never call query order). The refresh scene goes with the activity: a renewal refund is told apart by it.
 */
export function licenseOrderOf(call: LicenseCodeCallback): { orderId: string; orderLineId: string; activity: string } | undefined {
  if (call.isTest) return undefined;
  if (call.activity === "refreshLicenseCode") return { orderId: call.orderId, orderLineId: call.orderLineId, activity: `${call.activity}:${call.scene}` };
  if (call.activity === "releaseLicenseCode" && call.orderId) return { orderId: call.orderId, orderLineId: call.orderLineId ?? "", activity: call.activity };
  return undefined;
}

export function pendingLicenseOrder(code: string, order: { orderId: string; orderLineId: string; activity: string }, now: number): LicenseCodeOrder {
  return {
    ...order,
    isTest: false,
    code,
    fetchState: "pending",
    fetchAttempts: 0,
    nextFetchAt: now,
    lastError: null,
    orderType: null,
    chargingMode: null,
    productId: null,
    skuCode: null,
    amount: null,
    listAmount: null,
    orderCreatedAt: null,
    fetchedAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

export function fetchedLicenseOrder(truth: OrderTruth, attempts: number, now: number): Partial<LicenseCodeOrder> {
  return {
    fetchState: "fetched",
    fetchAttempts: attempts,
    nextFetchAt: null,
    // Fetched, but what the Marketplace sent malformed is said where the statement shows the amount as null.
    lastError: truth.problems.length > 0 ? truth.problems.join("; ").slice(0, 500) : null,
    orderType: truth.orderType,
    chargingMode: truth.chargingMode,
    productId: truth.productId,
    skuCode: truth.skuCode,
    amount: truth.amount,
    listAmount: truth.listAmount,
    orderCreatedAt: truth.createdAt,
    fetchedAt: now,
    updatedAt: now,
  };
}

/** Another failed attempt: the next one, or (nextFetchAt null) the end, state failed with the reason. */
export function failedLicenseOrder(attempts: number, error: string, nextFetchAt: number | null, now: number): Partial<LicenseCodeOrder> {
  return { fetchState: nextFetchAt === null ? "failed" : "pending", fetchAttempts: attempts, nextFetchAt, lastError: error.slice(0, 500), updatedAt: now };
}

const keyOf = (row: Pick<LicenseCodeOrder, "orderId" | "orderLineId" | "isTest">) =>
  and(eq(licenseCodeOrders.orderId, row.orderId), eq(licenseCodeOrders.orderLineId, row.orderLineId), eq(licenseCodeOrders.isTest, row.isTest));

export const licenseOrderStatements = {
  /** A repeated callback (the Marketplace retries 60 times) names the order again: the first record stays. */
  record: (db: Db, row: LicenseCodeOrder) => db.insert(licenseCodeOrders).values(row).onConflictDoNothing(),
  /** Only a row still pending changes: a late repeat of the alarm never undoes a fetched order. */
  update: (db: Db, row: LicenseCodeOrder, changes: Partial<LicenseCodeOrder>) =>
    db.update(licenseCodeOrders).set(changes).where(and(keyOf(row), eq(licenseCodeOrders.fetchState, "pending"))),
};

export function dueLicenseOrders(db: Db, code: string, now: number): Promise<LicenseCodeOrder[]> {
  return db
    .select()
    .from(licenseCodeOrders)
    .where(and(eq(licenseCodeOrders.code, code), eq(licenseCodeOrders.fetchState, "pending"), lte(licenseCodeOrders.nextFetchAt, now)))
    .orderBy(asc(licenseCodeOrders.nextFetchAt))
    .all();
}

/** When the code's next order fetch is due; undefined when none is pending. */
export async function nextLicenseOrderFetchAt(db: Db, code: string): Promise<number | undefined> {
  const row = await db
    .select({ at: min(licenseCodeOrders.nextFetchAt) })
    .from(licenseCodeOrders)
    .where(and(eq(licenseCodeOrders.code, code), eq(licenseCodeOrders.fetchState, "pending")))
    .get();
  return row?.at ?? undefined;
}
