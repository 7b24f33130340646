import { type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

/*
 * What marks the self-check's own data (the interface.* checks send the Marketplace's debug cases to the gateway's
 * router in-process): debug data (testFlag 1) whose identifying id starts with SELFCHECK-. The id per kind: an
 * instance's orderId, a kit sync's tenantId, a license code, a general order's orderId. Such data emits no event (no
 * feed entry, no webhook), is left out of the seller API's lists, and the daily clean-up deletes it after a day.
 *
 * The Marketplace's own debugger could send such an id too (a seller may type anything into a saved case): it would
 * then be treated the same way, which only hides debug data; a real purchase (testFlag 0) never is self-check data.
 */
export const SELF_CHECK_PREFIX = "SELFCHECK-";

export function isSelfCheckData(isTest: boolean, id: string | null | undefined): boolean {
  return isTest && typeof id === "string" && id.startsWith(SELF_CHECK_PREFIX);
}

/**
 * `column` holds `prefix` + a self-check id, as a range an index on the column serves ('.' is the character after
 * '-'), where LIKE would scan (SQLite's LIKE is case-insensitive and skips indexes on a default-collated column).
 */
export function selfCheckIdSql(column: SQLiteColumn | SQL, prefix = ""): SQL {
  return sql`(${column} >= ${prefix + SELF_CHECK_PREFIX} AND ${column} < ${prefix + SELF_CHECK_PREFIX.replace(/-$/, ".")})`;
}
