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

/* GET /admin/api/statements/{period} and POST .../reconcile: their schema module imports zod only, as the page's check needs. */
export type { BillEntry as ReconciliationEntry, Reconciliation, Statement, StatementOrder, StatementUsageLine as StatementUsage } from "../../seller-api/statements.schema";
export type StatementTotals = import("../../seller-api/statements.schema").Statement["totals"];
