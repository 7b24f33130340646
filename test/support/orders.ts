import { env } from "cloudflare:workers";

/** One order line as the test wants it; what is left out takes the defaults of a yearly standard subscription. */
export interface OrderLineSpec {
  productId?: string;
  skuCode?: string;
  chargingMode?: string;
  periodType?: string;
  /** yyyyMMddHHmmss UTC, as query order writes it. */
  expireTime?: string;
  /** `currency` (list price) as the Marketplace's mock sends it: a decimal string (or a number, to test that). */
  listAmount?: string | number;
  /** `currencyAfterDiscount` (what the buyer paid). */
  amount?: string | number;
}

/** The order's own fields; the defaults are a purchase placed on 2026-11-01 09:08:46 UTC. */
export interface OrderSpec {
  orderType?: string;
  /** yyyyMMddHHmmss UTC. */
  createTime?: string;
}

/**
 * An `orderInfo` as query order answers it (marketplace-open-apis §2.1): line n is `<orderId>-00000n`; pay-per-use
 * lines carry no period. The outbound test service answers it for `orderId` once given to controlOrders.
 */
export function queryOrderInfo(orderId: string, lines: OrderLineSpec[] = [{}], order: OrderSpec = {}) {
  return {
    orderId,
    orderType: order.orderType ?? "NEW",
    createTime: order.createTime ?? "20261101090846",
    orderLine: lines.map((line, index) => {
      const chargingMode = line.chargingMode ?? "PERIOD";
      const productId = line.productId ?? "OFFI000000001";
      return {
        orderLineId: `${orderId}-${String(index + 1).padStart(6, "0")}`,
        chargingMode,
        ...(chargingMode === "ON_DEMAND"
          ? {}
          : { periodType: line.periodType ?? "year", periodNumber: 1, expireTime: line.expireTime ?? "20271101235959" }),
        productInfo: [{ productId, skuCode: line.skuCode ?? "SKU-STD", linearValue: 1, productName: "Standard" }],
        currency: line.listAmount ?? "100.00",
        currencyAfterDiscount: line.amount ?? "90.00",
      };
    }),
    buyerInfo: { customerId: "cust-1", customerName: "Test Buyer" },
  };
}

/** Steers the outbound test service's query order: orders to answer, and order ids to fail N times with HTTP 500. */
export async function controlOrders(body: { failOrders?: Record<string, number>; slowOrders?: Record<string, number>; orders?: Record<string, unknown> }): Promise<void> {
  const response = await fetch(`${env.MARKETPLACE_API_BASE}/__control`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`outbound control: ${response.status} ${await response.text()}`);
}
