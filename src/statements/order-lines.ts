import { and, eq, gte, isNull, lt, or } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { generalOrders } from "../db/schema/general-orders";
import { instances, orders } from "../db/schema/instances";
import { licenseCodeOrders } from "../db/schema/license-codes";
import { WHOLE_ORDER } from "../orders/general-order";
import { isRefund, signedAmount } from "./refunds";

/** Which table a line comes from: a SaaS instance's order, a general (notified) order, a license code's order. */
export type OrderLineSource = "instance" | "general" | "license";

/** One order line of the statement's ledger. Amounts are exact decimal strings, negative for refunds (refunds.ts). */
export interface StatementOrderLine {
  source: OrderLineSource;
  orderId: string;
  /** null when the call named no line (V1, a whole-order notification, a release without one). */
  orderLineId: string | null;
  orderType: string | null;
  chargingMode: string | null;
  productId: string | null;
  skuCode: string | null;
  /** The instance id (source instance), the license code (source license), null for a general order. */
  instanceId: string | null;
  /** `currencyAfterDiscount`, signed; null until fetched, when the fetch gave up, or when malformed (see lastError). */
  amount: string | null;
  /** `currency` (list price), signed like amount. */
  listAmount: string | null;
  /** The order's `createTime` (epoch ms, UTC); for a line not fetched yet, when the gateway was told of it. */
  createdAt: number;
  /** Whether createdAt is the order's createTime (false: the gateway's receipt, the order is not fetched yet). */
  createTimeKnown: boolean;
  fetchState: "pending" | "fetched" | "failed";
  /** Why amount is null (the fetch still failing or given up, or what was malformed). */
  lastError: string | null;
  /** The callback that named the order (scene after a colon); orderNotify for general orders. */
  activity: string;
  refund: boolean;
  /**
   * The purchase line of an instance that failed (its window closed unprovisioned or without its order, or the
   * seller's backend reported the failure): the Marketplace retries it until its 3-hour window ends, then judges it
   * failed and refunds it (src/instances/provisioning-window.ts). Its amount is shown as the order says, unsigned;
   * the statement decides how to count it.
   */
  refundedAfterWindow: boolean;
}

/** createTime in [from, to), or, for a line whose order is not fetched yet, the row's receipt in that range. */
function inRange(createTime: SQLiteColumn, received: SQLiteColumn, fromMs: number, toMs: number) {
  return or(and(gte(createTime, fromMs), lt(createTime, toMs)), and(isNull(createTime), gte(received, fromMs), lt(received, toMs)));
}

const lineIdOf = (id: string) => (id === "" || id === WHOLE_ORDER ? null : id);

/**
 * Every real order line whose order was placed in [fromMs, toMs) (half-open: a month's bounds chain without overlap);
 * debug data (testFlag 1, the self-check's SELFCHECK- data among it) is left out, as the seller API's lists leave it.
 * Ordered by createdAt, then order and line id.
 */
export async function orderLinesCreatedBetween(db: Db, fromMs: number, toMs: number): Promise<StatementOrderLine[]> {
  const [saas, general, license] = await Promise.all([
    db
      .select({ order: orders, instanceStatus: instances.status, purchaseOrderId: instances.orderId })
      .from(orders)
      .innerJoin(instances, eq(instances.id, orders.instanceId))
      .where(and(eq(instances.isTest, false), inRange(orders.orderCreatedAt, orders.createdAt, fromMs, toMs)))
      .all(),
    db
      .select()
      .from(generalOrders)
      .where(and(eq(generalOrders.isTest, false), inRange(generalOrders.orderCreatedAt, generalOrders.createdAt, fromMs, toMs)))
      .all(),
    db
      .select()
      .from(licenseCodeOrders)
      .where(and(eq(licenseCodeOrders.isTest, false), inRange(licenseCodeOrders.orderCreatedAt, licenseCodeOrders.createdAt, fromMs, toMs)))
      .all(),
  ]);
  const lines: StatementOrderLine[] = [
    ...saas.map(({ order, instanceStatus, purchaseOrderId }) =>
      lineOf("instance", order, order.instanceId, order.fetchState, order.activity, instanceStatus === "failed" && order.orderId === purchaseOrderId),
    ),
    ...general.map((order) => lineOf("general", order, null, order.state === "received" ? "pending" : order.state === "fetch_failed" ? "failed" : "fetched", "orderNotify", false)),
    ...license.map((order) => lineOf("license", order, order.code, order.fetchState, order.activity, false)),
  ];
  return lines.sort((a, b) => a.createdAt - b.createdAt || compare(a.orderId, b.orderId) || compare(a.orderLineId ?? "", b.orderLineId ?? ""));
}

interface StoredOrder {
  orderId: string;
  orderLineId: string;
  orderType: string | null;
  chargingMode: string | null;
  productId?: string | null;
  skuCode?: string | null;
  products?: Array<{ productId: string | null; skuCode: string | null }> | null;
  amount: string | null;
  listAmount: string | null;
  orderCreatedAt: number | null;
  createdAt: number;
  lastError: string | null;
}

function lineOf(
  source: OrderLineSource,
  order: StoredOrder,
  instanceId: string | null,
  fetchState: StatementOrderLine["fetchState"],
  activity: string,
  refundedAfterWindow: boolean,
): StatementOrderLine {
  const refund = isRefund(order.orderType, activity);
  // A general order keeps its products as a list: the line's first, as query order's terms are the first line's.
  const product = order.products?.[0];
  return {
    source,
    orderId: order.orderId,
    orderLineId: lineIdOf(order.orderLineId),
    orderType: order.orderType,
    chargingMode: order.chargingMode,
    productId: order.productId ?? product?.productId ?? null,
    skuCode: order.skuCode ?? product?.skuCode ?? null,
    instanceId,
    amount: signedAmount(order.amount, refund),
    listAmount: signedAmount(order.listAmount, refund),
    createdAt: order.orderCreatedAt ?? order.createdAt,
    createTimeKnown: order.orderCreatedAt !== null,
    fetchState,
    lastError: order.lastError ?? (fetchState === "fetched" ? null : "the order has not been fetched yet"),
    activity,
    refund,
    refundedAfterWindow,
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

