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
 * GET /admin/api/statements/{period} and POST .../reconcile. Written out here because their schema modules import the
 * Worker's D1 types, which the page's DOM-only check cannot load; api-types.check.ts (in the Worker's check only)
 * fails the build when these drift from StatementBody and the reconciliation the Worker answers.
 */
export interface StatementOrder {
  source: "instance" | "general" | "license";
  orderId: string;
  orderLineId: string | null;
  orderType: string | null;
  chargingMode: string | null;
  productId: string | null;
  skuCode: string | null;
  instanceId: string | null;
  /** What the buyer paid (currencyAfterDiscount); null while the order's amount is unknown (see note). */
  amount: string | null;
  listAmount: string | null;
  createdAt: string;
  note: string | null;
}

export interface StatementUsage {
  instanceId: string;
  productId: string | null;
  skuCode: string | null;
  hours: number;
  quantity: string;
  rejectedQuantity: string;
  expiredQuantity: string;
  pendingQuantity: string;
}

export interface StatementTotals {
  orders: number;
  amount: string;
  unknownAmounts: number;
  usageQuantity: string;
  products: Array<{ productId: string | null; orders: number; amount: string; usageQuantity: string }>;
}

export interface Statement {
  period: string;
  timezone: string;
  currency: string;
  final: boolean;
  generatedAt: string;
  from: string;
  to: string;
  orders: StatementOrder[];
  usage: StatementUsage[];
  totals: StatementTotals;
}

export interface ReconciliationEntry {
  key: string;
  kind: "order" | "usage";
  value: string | null;
  rows?: number[];
}

export interface Reconciliation {
  period: string;
  matched: number;
  onlyInBill: ReconciliationEntry[];
  onlyInLedger: ReconciliationEntry[];
  different: Array<{ key: string; kind: "order" | "usage"; bill: string; ledger: string | null; rows: number[] }>;
}
