import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { selfCheckIdSql } from "./marker";

/** The self-check's data is kept a day: long enough to look at a failed run's instance, short enough to stay small. */
export const SELF_CHECK_DATA_RETENTION_MS = 24 * 3600_000;

/** Instances a run deletes at most; a run makes two, so a day's backlog is a handful. */
const INSTANCES_PER_RUN = 200;
const ROWS_PER_STATEMENT = 1_000;

const range = (column: string, prefix = "") => selfCheckIdSql(sql.raw(column), prefix);

/** The self-check instances written before `cutoff`, a bounded batch, through instances_order_idx. */
export const dueSelfCheckInstancesSql = (cutoff: number) =>
  sql`SELECT id FROM instances WHERE ${range("order_id")} AND is_test = 1 AND created_at < ${cutoff} LIMIT ${INSTANCES_PER_RUN}`;

/** Every delete of a clean-up run, each through an index range (test/operations/self-check.test.ts checks the plans). */
export function purgeStatements(cutoff: number, instanceIds: readonly string[]): SQL[] {
  const ids = sql.join(
    instanceIds.map((id) => sql`${id}`),
    sql`, `,
  );
  const byInstance =
    instanceIds.length === 0
      ? []
      : [...["inbox", "audit_events", "orders", "events", "licenses"].map((table) => sql`DELETE FROM ${sql.raw(table)} WHERE instance_id IN (${ids})`), sql`DELETE FROM instances WHERE id IN (${ids})`];
  const kitTables = ["kit_tenants", "kit_applications", "kit_users", "kit_orgs", "kit_org_trees"];
  return [
    ...byInstance,
    ...kitTables.map((table) => sql`DELETE FROM ${sql.raw(table)} WHERE ${range("instance_id")} AND is_test = 1 AND ${range("tenant_id")} AND created_at < ${cutoff}`),
    // Kit syncs keep their instance id on the inbox row; license-code and order callbacks keep theirs in the key.
    sql`DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE ${range("instance_id")} AND is_test = 1 AND received_at < ${cutoff} LIMIT ${ROWS_PER_STATEMENT})`,
    ...["license:refresh:", "license:status:", "license:release:", "test:orderNotify:"].map(
      (prefix) => sql`DELETE FROM inbox WHERE ${range("idempotency_key", prefix)} AND is_test = 1 AND received_at < ${cutoff}`,
    ),
    sql`DELETE FROM license_codes WHERE ${range("code")} AND is_test = 1 AND created_at < ${cutoff}`,
    sql`DELETE FROM general_orders WHERE ${range("order_id")} AND is_test = 1 AND received_at < ${cutoff}`,
  ];
}

/**
 * Deletes the self-check's data (marker.ts) older than a day, found through indexed id ranges: its instances with
 * their inbox, audit, order, event and license rows; kit rows and kit inbox rows (instance id SELFCHECK-…); license
 * codes and their inbox rows; general orders and their inbox rows. Its nonces expire within minutes and go with
 * every other expired nonce. The actors' own storage of a self-check instance is left: each run uses fresh ids, so
 * no call reaches such an actor again, and it holds a few small keys.
 */
export async function purgeSelfCheckData(db: Db, now: number): Promise<{ selfCheckInstancesDeleted: number; selfCheckRowsDeleted: number }> {
  const cutoff = now - SELF_CHECK_DATA_RETENTION_MS;
  const due = await db.all<{ id: string }>(dueSelfCheckInstancesSql(cutoff));
  let rows = 0;
  for (const statement of purgeStatements(cutoff, due.map((row) => row.id))) rows += (await db.run(statement)).meta.changes;
  return { selfCheckInstancesDeleted: due.length, selfCheckRowsDeleted: rows };
}
