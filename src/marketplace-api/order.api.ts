import { z } from "zod";
import { COMPACT_UTC } from "../protocol/time-formats";
import { type OpenApiCredentials, callOpenApi, failureOf, resultOf } from "./client";
import { MarketplaceApiError } from "./errors";
import { decimalAmountOf } from "./order-amounts";

export const QUERY_ORDER_PATH = "/api/mkp-openapi-public/global/v1/order/query";
/** The docs show MKT.0000 in examples and CBC.0000 in the table (spec marketplace-open-apis §2.1): accept both. */
const SUCCESS_CODES = new Set(["MKT.0000", "CBC.0000"]);

const ProductInfo = z.object({
  productId: z.string().optional(),
  skuCode: z.string().optional(),
  linearValue: z.union([z.number(), z.string()]).optional(),
  productName: z.string().optional(),
});

const OrderLine = z.looseObject({
  orderLineId: z.string(),
  chargingMode: z.string().optional(),
  expireTime: z.string().optional(),
  periodType: z.string().optional(),
  periodNumber: z.coerce.number().int().optional(),
  productInfo: z.array(ProductInfo).optional(),
  // Checked apart (order-amounts.ts): a malformed amount is noted on the order, not a failure of the whole fetch.
  currency: z.unknown().optional(),
  currencyAfterDiscount: z.unknown().optional(),
});

export const OrderInfo = z.looseObject({
  orderId: z.string(),
  orderType: z.string().optional(),
  createTime: z.string().optional(),
  orderLine: z.array(OrderLine).default([]),
  buyerInfo: z
    .looseObject({ customerId: z.string().optional(), customerName: z.string().optional() })
    .optional(),
});
export type OrderInfo = z.infer<typeof OrderInfo>;

/** What we keep of an order line: enough to bill and to check our instance against. */
export interface OrderTruth {
  orderId: string;
  orderLineId: string;
  orderType: string | null;
  productId: string | null;
  skuCode: string | null;
  chargingMode: string | null;
  periodType: string | null;
  periodNumber: number | null;
  /** The line's linear quantity (users, seats…: `linearValue`); null when the product has none. */
  quantity: number | null;
  expireAt: number | null;
  customerId: string | null;
  customerName: string | null;
  /** The line's `currencyAfterDiscount` (what the buyer paid), exact decimal text; null when absent or malformed. */
  amount: string | null;
  /** The line's `currency` (list price), exact decimal text; null when absent or malformed. */
  listAmount: string | null;
  /** The order's `createTime` (UTC): the statement's period is chosen by it; null when absent or malformed. */
  createdAt: number | null;
  /** What of the above the Marketplace sent malformed (kept as the order's last_error); empty when all was well. */
  problems: string[];
  snapshot: Record<string, unknown>;
}

export async function queryOrder(
  credentials: OpenApiCredentials,
  orderId: string,
  orderLineId: string | null,
  now: Date = new Date(),
  timeoutMs?: number,
  /** Without a line id (V1), the line of this product: a pay-per-use order has one line per metered product. */
  productId?: string | null,
): Promise<OrderTruth> {
  const api = "queryOrder";
  const query: Record<string, string> = { orderId };
  if (orderLineId) query.orderLineId = orderLineId;
  const { status, json } = await callOpenApi(credentials, { api, method: "GET", path: QUERY_ORDER_PATH, query, ...(timeoutMs ? { timeoutMs } : {}) }, now);
  if (!SUCCESS_CODES.has(resultOf(json).code)) throw failureOf(api, status, json);
  const parsed = OrderInfo.safeParse(json.orderInfo);
  if (!parsed.success) {
    throw new MarketplaceApiError(api, "BAD_ORDER_INFO", `orderInfo does not match the documented shape: ${parsed.error.issues[0]?.message}`, false, status);
  }
  const info = parsed.data;
  const line =
    (orderLineId ? info.orderLine.find((l) => l.orderLineId === orderLineId) : undefined) ??
    (productId ? info.orderLine.find((l) => l.productInfo?.some((p) => p.productId === productId)) : undefined) ??
    info.orderLine[0];
  const product = line?.productInfo?.[0];
  let expireAt: number | null = null;
  if (line?.expireTime) {
    const expire = COMPACT_UTC.check(line.expireTime);
    // A malformed date from the Marketplace will not fix itself on a resend: final, like any other shape error.
    if (!expire.ok) throw new MarketplaceApiError(api, "BAD_ORDER_INFO", `expireTime: ${expire.problem}`, false, status);
    expireAt = expire.epochMs;
  }
  const problems: string[] = [];
  const amount = decimalAmountOf(line?.currencyAfterDiscount);
  if (!amount.ok) problems.push(`currencyAfterDiscount: ${amount.problem}`);
  const listAmount = decimalAmountOf(line?.currency);
  if (!listAmount.ok) problems.push(`currency: ${listAmount.problem}`);
  let createdAt: number | null = null;
  if (info.createTime) {
    const created = COMPACT_UTC.check(info.createTime);
    if (created.ok) createdAt = created.epochMs;
    else problems.push(`createTime: ${created.problem}`);
  }
  return {
    orderId: info.orderId,
    orderLineId: line?.orderLineId ?? orderLineId ?? "",
    orderType: info.orderType ?? null,
    productId: product?.productId ?? null,
    skuCode: product?.skuCode ?? null,
    chargingMode: line?.chargingMode ?? null,
    periodType: line?.periodType ?? null,
    periodNumber: line?.periodNumber ?? null,
    quantity: quantityOf(product?.linearValue),
    expireAt,
    customerId: info.buyerInfo?.customerId ?? null,
    customerName: info.buyerInfo?.customerName ?? null,
    amount: amount.ok ? amount.value : null,
    listAmount: listAmount.ok ? listAmount.value : null,
    createdAt,
    problems,
    snapshot: info,
  };
}

function quantityOf(linearValue: number | string | undefined): number | null {
  if (linearValue === undefined) return null;
  const value = Number(linearValue);
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}
