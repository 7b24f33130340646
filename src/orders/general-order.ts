import { createHash } from "node:crypto";
import { sealOrderSnapshot } from "../crypto/order-snapshot";
import { compoundKey } from "../db/compound-key";
import type { GeneralOrder, GeneralOrderProduct, GeneralOrderState } from "../db/schema/general-orders";
import type { Settings } from "../env";
import type { EventDraft } from "../events/outbox";
import { decimalAmountOf } from "../marketplace-api/order-amounts";
import { sumDecimals } from "../statements/decimal";
import { OrderInfo, type OrderTruth } from "../marketplace-api/order.api";

/**
 * How long query order is retried after a notification: the Marketplace's own retry window for an order notification
 * (marketplace-open-apis §3.2, §4: 3 hours). We answered 000000 at once, so the Marketplace will not resend; our
 * retries cover at least the time it would have kept trying. Attempts back off as the SaaS order fetches do
 * (orderFetchDelay); the first one after the window gives up.
 */
export const ORDER_NOTIFY_FETCH_WINDOW_MS = 3 * 3600_000;

/** Which order line, real or debug: the OrderActor's name and the row's primary key. */
export interface OrderLineKey {
  orderId: string;
  /** WHOLE_ORDER when the notification named no line. */
  orderLineId: string;
  isTest: boolean;
}

/**
 * The line id of a notification that named none (some sale modes send no `orderLineId`): the record stands for the
 * whole order, query order is asked without a line, and the seller sees `orderLineId: null`. A notification cannot
 * name a line "" (it reads as absent), so this never meets a real line.
 */
export const WHOLE_ORDER = "";

/** One actor per order line; a debug notification never shares one with a real order. */
export function orderActorName(key: OrderLineKey): string {
  return compoundKey(key.isTest ? "order-test" : "order", [key.orderId, key.orderLineId]);
}

/** The seller's events of one order (all its lines, real and debug) form one delivery stream. */
export function orderStream(orderId: string): string {
  return `order:${orderId}`;
}

/** The inbox key of a notification; `test:` as for every debug call (src/dialects/actor-call.ts envelopeOf). */
export function orderInboxKey(key: OrderLineKey): string {
  const base = compoundKey("orderNotify", [key.orderId, key.orderLineId]);
  return key.isTest ? `test:${base}` : base;
}

/** The row of a first notification: nothing known but what the notification says. */
export function receivedRow(key: OrderLineKey, now: number, extra: Record<string, unknown>): GeneralOrder {
  return {
    orderId: key.orderId,
    orderLineId: key.orderLineId,
    isTest: key.isTest,
    state: "received",
    fetchAttempts: 0,
    // A debug notification is never fetched (docs/seller-contract.md "Order first": debug calls never call query order).
    nextFetchAt: key.isTest ? null : now,
    lastError: null,
    orderType: null,
    chargingMode: null,
    periodType: null,
    periodNumber: null,
    expireAt: null,
    products: null,
    amount: null,
    listAmount: null,
    orderCreatedAt: null,
    customerId: null,
    customerName: null,
    snapshot: null,
    notifyExtra: extra,
    receivedAt: now,
    fetchedAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * What a successful query order changes: the order's terms, its customer, the sealed snapshot. For the whole order
 * (`orderLineId` WHOLE_ORDER) the terms are its first line's, and the products every line's.
 */
export async function fetchedChanges(settings: Settings, truth: OrderTruth, orderLineId: string, attempts: number, now: number): Promise<Partial<GeneralOrder>> {
  const whole = orderLineId === WHOLE_ORDER ? wholeOrderAmounts(truth) : undefined;
  const amounts = whole ?? truth;
  // The whole order's amount problems name their lines, in place of the first line's.
  const problems = whole ? [...truth.problems.filter((p) => !p.startsWith("currency")), ...whole.problems] : truth.problems;
  return {
    state: "fetched",
    fetchAttempts: attempts,
    nextFetchAt: null,
    // Fetched, but what the Marketplace sent malformed is said where the statement shows the amount as null.
    lastError: problems.length > 0 ? problems.join("; ").slice(0, 500) : null,
    orderType: truth.orderType,
    chargingMode: truth.chargingMode,
    periodType: truth.periodType,
    periodNumber: truth.periodNumber,
    expireAt: truth.expireAt,
    products: productsOf(truth, orderLineId === WHOLE_ORDER),
    amount: amounts.amount,
    listAmount: amounts.listAmount,
    orderCreatedAt: truth.createdAt,
    customerId: truth.customerId,
    customerName: truth.customerName,
    snapshot: await sealOrderSnapshot(settings.dataKey, truth.snapshot),
    fetchedAt: now,
    updatedAt: now,
  };
}

/**
 * The whole order's amounts (a notification that named no line): the exact sum of every line's, null when a line
 * lacks one or sent one malformed (the reason kept).
 */
function wholeOrderAmounts(truth: OrderTruth): { amount: string | null; listAmount: string | null; problems: string[] } {
  const info = OrderInfo.safeParse(truth.snapshot);
  const lines = info.success ? info.data.orderLine : [];
  const problems: string[] = [];
  const total = (field: "currencyAfterDiscount" | "currency"): string | null => {
    const values: string[] = [];
    for (const line of lines) {
      const check = decimalAmountOf(line[field]);
      if (!check.ok) problems.push(`${field} of line ${line.orderLineId}: ${check.problem}`);
      else if (check.value !== null) values.push(check.value);
    }
    return values.length > 0 && values.length === lines.length ? sumDecimals(values) : null;
  };
  return { amount: total("currencyAfterDiscount"), listAmount: total("currency"), problems };
}

/** What a failed query order changes: another attempt, and either the next one or the end. */
export function failedFetchChanges(attempts: number, error: string, nextFetchAt: number | null, now: number): Partial<GeneralOrder> {
  const state: GeneralOrderState = nextFetchAt === null ? "fetch_failed" : "received";
  return { state, fetchAttempts: attempts, nextFetchAt, lastError: error.slice(0, 500), updatedAt: now };
}

/**
 * Every product of the notified line, or of every line for the whole order (queryOrder keeps only the first in
 * OrderTruth; the snapshot has them all).
 */
function productsOf(truth: OrderTruth, wholeOrder: boolean): GeneralOrderProduct[] {
  const info = OrderInfo.safeParse(truth.snapshot);
  const lines = !info.success ? [] : wholeOrder ? info.data.orderLine : info.data.orderLine.filter((l) => l.orderLineId === truth.orderLineId);
  const products = lines.flatMap((line) => line.productInfo ?? []).map((product) => ({
    productId: product.productId ?? null,
    skuCode: product.skuCode ?? null,
    productName: product.productName ?? null,
    quantity: quantityOf(product.linearValue),
  }));
  if (products.length > 0) return products;
  return truth.productId === null && truth.skuCode === null ? [] : [{ productId: truth.productId, skuCode: truth.skuCode, productName: null, quantity: truth.quantity }];
}

function quantityOf(linearValue: number | string | undefined): number | null {
  if (linearValue === undefined) return null;
  const value = Number(linearValue);
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}

/** The order as the seller sees it (GET /api/v1/orders/{orderId}, and the `data` of `order.notified`). No secrets. */
export interface GeneralOrderView {
  orderId: string;
  /** null: the notification named no line, the record is the whole order's. */
  orderLineId: string | null;
  test: boolean;
  state: GeneralOrderState;
  orderType: string | null;
  chargingMode: string | null;
  periodType: string | null;
  periodNumber: number | null;
  expireAt: string | null;
  products: GeneralOrderProduct[] | null;
  customer: { id: string | null; name: string | null } | null;
  fetchAttempts: number;
  lastError: string | null;
  /** The notification's other fields, personal ones "[removed]"; null for lines recorded before they were kept. */
  extra: Record<string, unknown> | null;
  receivedAt: string;
  fetchedAt: string | null;
  updatedAt: string;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function generalOrderView(row: GeneralOrder): GeneralOrderView {
  return {
    orderId: row.orderId,
    orderLineId: row.orderLineId === WHOLE_ORDER ? null : row.orderLineId,
    test: row.isTest,
    state: row.state,
    orderType: row.orderType,
    chargingMode: row.chargingMode,
    periodType: row.periodType,
    periodNumber: row.periodNumber,
    expireAt: iso(row.expireAt),
    products: row.products,
    customer: row.customerId === null && row.customerName === null ? null : { id: row.customerId, name: row.customerName },
    fetchAttempts: row.fetchAttempts,
    lastError: row.lastError,
    extra: row.notifyExtra,
    receivedAt: new Date(row.receivedAt).toISOString(),
    fetchedAt: iso(row.fetchedAt),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

/**
 * `order.notified` (docs/seller-contract.md): a real order once query order answered; a debug notification at once, with
 * `test: true` and only what the notification holds (the order's terms null), because debug calls produce events too
 * and never call query order.
 */
export function orderNotifiedEvent(row: GeneralOrder, at: number): EventDraft {
  return {
    // One per line, ever: a second write (an alarm replayed after a crash that followed the batch) fails on events_id_uq.
    id: `evt_${createHash("sha256").update(`order.notified\n${orderActorName(row)}`).digest("hex").slice(0, 32)}`,
    type: "order.notified",
    instanceId: null,
    stream: orderStream(row.orderId),
    test: row.isTest,
    data: { ...generalOrderView(row) },
    at,
  };
}
