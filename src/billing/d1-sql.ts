import { type SQL, sql as sqlTemplate } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { HOUR_MS } from "./periods";

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

/**
 * Ids per JSON-array parameter (`IN (SELECT value FROM json_each(?))`): one round trip per 5,000 instances, where 99
 * bound parameters per query made one per 99 (a roll-up of 100,000 instances would have needed over 2,000 queries, past
 * D1's per-invocation limit), and an unbounded array would pass D1's 2 MB limit on a value near 60,000 ids.
 */
export const IDS_PER_JSON_PARAMETER = 5_000;

/** Runs `query` once per slice of `ids` (each slice one JSON-array parameter) and concatenates the rows. */
export async function rowsForIds<T>(ids: readonly string[], query: (idsJson: string) => Promise<T[]>): Promise<T[]> {
  const rows: T[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_JSON_PARAMETER) {
    rows.push(...(await query(JSON.stringify(ids.slice(i, i + IDS_PER_JSON_PARAMETER)))));
  }
  return rows;
}

/**
 * The hour's length as an integer literal in the SQL text, for arithmetic on epoch milliseconds: D1 binds every JS
 * number as a REAL, so a bound divisor makes `t / hour` a fraction (no two times of one hour group together).
 */
export const HOUR_MS_LITERAL = sqlTemplate.raw(String(HOUR_MS));
