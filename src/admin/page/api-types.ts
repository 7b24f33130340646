/*
 * The admin API's answers as the page's script (public/admin/*.js, checked by tsconfig.page.json) sees them: types
 * only, imported from JSDoc, so the page is checked against the same zod schemas the Worker answers with.
 */
export type {
  AdminInstance,
  AdminInstanceList,
  CorrectionAnswer,
  DeliveryList,
  JobRunAnswer,
  JobsAnswer,
  ReplayAnswer,
  ResendAnswer,
  RetryProvisioningAnswer,
  Timeline,
  TimelineEntry,
  Problem,
  ProblemList,
  UsageReport,
} from "../admin-api.schema";
export type { ProblemKind, ProblemPlace } from "../../operations/problem-kinds";

/*
 * The statement and its reconciliation (GET /admin/api/statements/{period}, POST .../reconcile), as the seller
 * contract fixes them. Written here until their zod schemas land; then these become `export type { ... } from` them.
 * Amounts and quantities are decimal strings (never summed as floats in the page).
 */
export interface StatementOrder {
  orderId: string;
  orderLineId: string;
  orderType: string;
  chargingMode: string | null;
  productId: string | null;
  skuCode: string | null;
  instanceId: string | null;
  /** What the buyer paid (query order's currencyAfterDiscount); null when the order could not be fetched. */
  amount: string | null;
  /** The list price (query order's currency). */
  listAmount: string | null;
  createdAt: string;
}

export interface StatementUsage {
  instanceId: string;
  productId: string | null;
  skuCode: string | null;
  hours: number | string;
  quantity: string;
  rejectedQuantity: string;
  expiredQuantity: string;
  pendingQuantity: string;
}

/** Per product: its figures (orders, amount, usage quantity), keyed by product id, or a list of rows naming it. */
export type StatementTotals = Record<string, Record<string, unknown>> | Array<Record<string, unknown>>;

export interface Statement {
  period: string;
  timezone: string;
  currency: string;
  final: boolean;
  generatedAt: string;
  orders: StatementOrder[];
  usage: StatementUsage[];
  totals: StatementTotals;
}

export interface Reconciliation {
  /** How many lines matched (or the matched lines themselves). */
  matched: number | unknown[];
  onlyInBill: unknown[];
  onlyInLedger: unknown[];
  different: Array<{ key: string; bill: unknown; ledger: unknown }>;
}
