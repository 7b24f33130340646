import { type SQL, and, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type Instance, instances } from "../db/schema/instances";
import type { InstanceKey } from "../seller-api/cursor";
import { type InstanceFilter, listInstances } from "../seller-api/instance-list.query";

/*
 * The operator's instance list: the seller API's list (same filters, keyset and indexes) plus `q`, which matches an
 * instance id, an order id or a customer name exactly. Each of the three is one index range read newest first
 * (primary key, instances_order_idx, instances_customer_name_idx) and stops at `take` rows; the filters are checked
 * on those rows, so a search costs at most 3 × take rows whatever the table's size. A substring search would need a
 * scan of every instance, so there is none.
 */

function before(key: InstanceKey | undefined): SQL | undefined {
  return key ? sql`(${instances.createdAt}, ${instances.id}) < (${key.createdAt}, ${key.id})` : undefined;
}

function filtered(filter: InstanceFilter): SQL | undefined {
  return and(
    filter.status === undefined ? undefined : sql`+${instances.status} = ${filter.status}`,
    filter.productId === undefined ? undefined : sql`+${instances.productId} = ${filter.productId}`,
    filter.test === undefined ? undefined : sql`+${instances.isTest} = ${filter.test ? 1 : 0}`,
  );
}

export async function searchInstances(db: Db, filter: InstanceFilter, q: string | undefined, after: InstanceKey | undefined, take: number): Promise<Instance[]> {
  if (q === undefined) return listInstances(db, filter, after, take);
  const page = (match: SQL) =>
    db
      .select()
      .from(instances)
      .where(and(match, filtered(filter), before(after)))
      .orderBy(desc(instances.createdAt), desc(instances.id))
      .limit(take);
  const [byId, byOrder, byName] = await db.batch([page(eq(instances.id, q)), page(eq(instances.orderId, q)), page(eq(instances.customerName, q))]);
  const unique = new Map<string, Instance>();
  for (const row of [...byId, ...byOrder, ...byName]) unique.set(row.id, row);
  return [...unique.values()]
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, take);
}
