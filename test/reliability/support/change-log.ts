import { env } from "cloudflare:workers";
import { dueWorkStatement } from "../../support/background-work";

/**
 * What the Worker wrote, per table, kept by triggers instead of read back from the tables. The fuzzer asks after every
 * refused case whether anything was stored; reading and hashing every table for that (twice per case) made a run
 * slower with every case, so the full profile never finished. A trigger per table and operation appends one row to
 * `reliability_changes` for each row inserted, deleted or really changed (an UPDATE that writes the same values is
 * not a change), so the question costs one small query whatever the tables hold.
 */
const LOG = "reliability_changes";

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

let installed: Promise<void> | undefined;

/** Creates the log and the triggers once per test file (migrations are applied before its tests start). */
export function installChangeLog(db: D1Database = env.DB): Promise<void> {
  installed ??= (async () => {
    const tables = await db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations' AND name <> ?`)
      .bind(LOG)
      .all<{ name: string }>();
    const statements = [db.prepare(`CREATE TABLE IF NOT EXISTS ${LOG} (tbl TEXT NOT NULL, op TEXT NOT NULL)`)];
    for (const { name } of tables.results) {
      const columns = await db.prepare(`SELECT name FROM pragma_table_info(?)`).bind(name).all<{ name: string }>();
      const changed = columns.results.map((column) => `OLD.${quote(column.name)} IS NOT NEW.${quote(column.name)}`).join(" OR ") || "1";
      const record = (op: string) => `INSERT INTO ${LOG} (tbl, op) VALUES (${literal(name)}, '${op}');`;
      statements.push(
        db.prepare(`CREATE TRIGGER IF NOT EXISTS ${quote(`reliability_${name}_insert`)} AFTER INSERT ON ${quote(name)} BEGIN ${record("insert")} END`),
        db.prepare(`CREATE TRIGGER IF NOT EXISTS ${quote(`reliability_${name}_update`)} AFTER UPDATE ON ${quote(name)} WHEN ${changed} BEGIN ${record("update")} END`),
        db.prepare(`CREATE TRIGGER IF NOT EXISTS ${quote(`reliability_${name}_delete`)} AFTER DELETE ON ${quote(name)} BEGIN ${record("delete")} END`),
      );
    }
    await db.batch(statements);
  })();
  return installed;
}

export interface Written {
  /** `{"table": {"insert": n, "update": n, "delete": n}}` since the last call. */
  tables: Record<string, Record<string, number>>;
  /** Background work due now (dueWorkStatement): the next case waits for it to settle. */
  due: number;
}

/** What was written since the last call, and forgets it; with what background work is due, in the same round trip. */
export async function takeChanges(db: D1Database = env.DB, now = Date.now()): Promise<Written> {
  const [changes, due] = await db.batch<Record<string, unknown>>([
    db.prepare(`SELECT tbl, op, count(*) AS n FROM ${LOG} GROUP BY tbl, op ORDER BY tbl, op`),
    dueWorkStatement(db, now),
    db.prepare(`DELETE FROM ${LOG}`),
  ]);
  const tables: Record<string, Record<string, number>> = {};
  for (const row of (changes?.results ?? []) as Array<{ tbl: string; op: string; n: number }>) (tables[row.tbl] ??= {})[row.op] = row.n;
  return { tables, due: Number((due?.results[0] as { n?: number } | undefined)?.n ?? 0) };
}
