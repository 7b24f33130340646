import type { SQL } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";

const dialect = new SQLiteAsyncDialect();

/**
 * A drizzle `sql` template as a D1 prepared statement. drizzle's db.batch() cannot batch raw `sql` (its raw queries
 * have no prepared statement), and the ledger's set-based statements (json_each, UPDATE … FROM) are raw SQL; D1's
 * own batch() runs them as one transaction.
 */
export function d1Statement(d1: D1Database, query: SQL): D1PreparedStatement {
  const { sql, params } = dialect.sqlToQuery(query);
  return d1.prepare(sql).bind(...params);
}
