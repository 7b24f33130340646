import { getDb } from "../db/client";
import { log } from "../observability/log";
import { MalformedCsv } from "../statements/csv";
import { readBill, reconcile } from "../statements/reconcile";
import { billTextOf } from "../statements/bill-upload";
import { readLedger } from "../statements/statement";
import { StatementRequestError, periodOf, statementResponse } from "../statements/statement-request";
import { StatementParams, StatementQuery } from "../seller-api/statements.schema";
import { type AdminRoute, AdminApiError, adminJson, adminRoute } from "./admin-route";

/*
 * The statement for the operator, and the reconciliation with the Marketplace's bill. Neither changes anything, so
 * neither is an admin action (src/admin/admin-audit.ts records what changes state); a reconciliation is logged with
 * its counts only, never the bill's content.
 */

const asAdminError = (error: unknown): unknown =>
  error instanceof StatementRequestError ? new AdminApiError(error.status, error.message) : error instanceof MalformedCsv ? new AdminApiError(400, error.message) : error;

export const STATEMENT_ROUTES: readonly AdminRoute[] = [
  adminRoute({ method: "get", path: "/admin/api/statements/:period", params: StatementParams, query: StatementQuery }, async ({ params, query, env, now }) => {
    try {
      return await statementResponse(env, params.period, query.format, now);
    } catch (error) {
      throw asAdminError(error);
    }
  }),

  adminRoute({ method: "post", path: "/admin/api/statements/:period/reconcile", params: StatementParams }, async ({ params, env, request, now }) => {
    try {
      const { settings, period } = periodOf(env, params.period);
      const bill = readBill(await billTextOf(request), settings.billColumns);
      const { lines, usage } = await readLedger(getDb(env), period);
      const answer = reconcile(bill, lines, usage);
      log("info", "statements.reconciled", {
        period: period.name,
        matched: answer.matched,
        onlyInBill: answer.onlyInBill.length,
        onlyInLedger: answer.onlyInLedger.length,
        different: answer.different.length,
        ms: Date.now() - now,
      });
      return adminJson({ period: period.name, ...answer });
    } catch (error) {
      throw asAdminError(error);
    }
  }),
];
