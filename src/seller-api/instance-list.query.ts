import { type SQL, and, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { INSTANCE_STATUSES, type Instance, type InstanceStatus, instances } from "../db/schema/instances";
import type { InstanceKey } from "./cursor";
import { selfCheckIdSql } from "../operations/self-check/marker";

export interface InstanceFilter {
  status?: InstanceStatus;
  productId?: string;
  test?: boolean;
}

/** Strictly after `key` in the list's order (newest first): a row-value range the indexes serve directly. */
function before(key: InstanceKey | undefined): SQL | undefined {
  return key ? sql`(${instances.createdAt}, ${instances.id}) < (${key.createdAt}, ${key.id})` : undefined;
}

const newestFirst = [desc(instances.createdAt), desc(instances.id)] as const;

/** The self-check's own instances are not the seller's (src/operations/self-check/marker.ts): checked on the rows read. */
const notSelfCheck = sql`NOT (${instances.isTest} = 1 AND ${selfCheckIdSql(instances.orderId)})`;

/*
 * Every query below walks one index range in order and stops after `take` rows, so a page costs at most
 * (ranges × take) rows read whatever the table's size:
 *   with productId: instances_product_idx (product_id, created_at, id); status and test are checked on those rows.
 *     The unary + keeps SQLite from preferring instances_list_idx for them, which would need a sort of every match.
 *   without: instances_list_idx (is_test, status, created_at, id), one range per (test, status) pair asked for, the
 *     ranges merged here. An index cannot order by created_at across statuses, and a sort of all matches would grow
 *     with traffic.
 */
export function instanceListQueries(db: Db, filter: InstanceFilter, after: InstanceKey | undefined, take: number) {
  if (filter.productId !== undefined) {
    return [
      db
        .select()
        .from(instances)
        .where(
          and(
            eq(instances.productId, filter.productId),
            filter.status === undefined ? undefined : sql`+${instances.status} = ${filter.status}`,
            filter.test === undefined ? undefined : sql`+${instances.isTest} = ${filter.test ? 1 : 0}`,
            before(after),
            notSelfCheck,
          ),
        )
        .orderBy(...newestFirst)
        .limit(take),
    ];
  }
  const statuses = filter.status === undefined ? INSTANCE_STATUSES : [filter.status];
  const tests = filter.test === undefined ? [false, true] : [filter.test];
  return tests.flatMap((isTest) =>
    statuses.map((status) =>
      db
        .select()
        .from(instances)
        .where(and(eq(instances.isTest, isTest), eq(instances.status, status), before(after), ...(isTest ? [notSelfCheck] : [])))
        .orderBy(...newestFirst)
        .limit(take),
    ),
  );
}

/** The first `take` instances after `after`, newest first: the index ranges in one round trip, merged. */
export async function listInstances(db: Db, filter: InstanceFilter, after: InstanceKey | undefined, take: number): Promise<Instance[]> {
  const [first, ...rest] = instanceListQueries(db, filter, after, take);
  if (!first) return [];
  const pages = await db.batch([first, ...rest]);
  return pages
    .flat()
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, take);
}
