import { createHash } from "node:crypto";
import { env } from "cloudflare:workers";

let tables: Promise<string[]> | undefined;

/** Every table of the database, read once per test file (migrations are applied before its tests start). */
export function tableNames(db: D1Database = env.DB): Promise<string[]> {
  tables ??= db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name")
    .all<{ name: string }>()
    .then((result) => result.results.map((table) => table.name));
  return tables;
}

/**
 * A digest of every table in D1, per table, from sqlite_master: a table a later migration adds is covered without
 * touching this file. Rows are hashed order-independently (sorted), so a table's digest changes only with its content.
 */
export async function dbDigest(db: D1Database = env.DB): Promise<Record<string, string>> {
  const names = await tableNames(db);
  const results = await db.batch<Record<string, unknown>>(names.map((name) => db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`)));
  const digest: Record<string, string> = {};
  for (const [index, name] of names.entries()) {
    const rows = (results[index]?.results ?? []).map((row) => JSON.stringify(row)).sort();
    digest[name] = `${rows.length}:${createHash("sha256").update(rows.join("\n")).digest("hex").slice(0, 16)}`;
  }
  return digest;
}
