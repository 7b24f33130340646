import type { z } from "zod";
import type { SameType } from "../../seller-api/common.schema";
import type { StatementBody } from "../../seller-api/statements.schema";
import type { Reconciliation as WorkerReconciliation } from "../../statements/reconcile";
import type { Reconciliation, Statement } from "./api-types";

/*
 * The page's copies of the statement types (api-types.ts) are the Worker's: the Worker's `npm run check` fails here
 * when either side changes alone. (The page's own check cannot import these modules: they bring in D1's types.)
 */
const _statement: SameType<Statement, z.output<typeof StatementBody>> = true;
const _reconciliation: SameType<Reconciliation, WorkerReconciliation & { period: string }> = true;
void _statement;
void _reconciliation;
