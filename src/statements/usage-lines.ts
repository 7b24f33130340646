import { and, eq, gte, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { UNITS_PER_WHOLE, usageRecords } from "../db/schema/billing";
import { instances } from "../db/schema/instances";
import type { StatementUsageLine } from "../seller-api/statements.schema";
import { fromUnits } from "./decimal";

const SCALE = Math.log10(UNITS_PER_WHOLE);

const unitsWhere = (condition: ReturnType<typeof sql>) => sql<number>`coalesce(sum(case when ${condition} then ${usageRecords.usageUnits} else 0 end), 0)`;

/**
 * The usage records whose hour (or day) begins in [fromMs, toMs), summed per instance, product and SKU in SQLite's
 * integers (units of 1/10,000, exact) and only then written as decimals. Debug instances (the self-check's among them)
 * are left out, as their usage is never billed.
 */
export async function usageLinesBetween(db: Db, fromMs: number, toMs: number): Promise<StatementUsageLine[]> {
  const productId = sql<string | null>`coalesce(${usageRecords.productId}, ${instances.productId})`;
  const rows = await db
    .select({
      instanceId: usageRecords.instanceId,
      productId,
      skuCode: instances.skuCode,
      hours: sql<number>`count(*)`,
      accepted: unitsWhere(sql`${usageRecords.state} = 'accepted'`),
      rejected: unitsWhere(sql`${usageRecords.state} = 'rejected'`),
      expired: unitsWhere(sql`${usageRecords.state} = 'expired'`),
      pending: unitsWhere(sql`${usageRecords.state} in ('pending', 'sent')`),
    })
    .from(usageRecords)
    .innerJoin(instances, eq(instances.id, usageRecords.instanceId))
    .where(and(eq(instances.isTest, false), gte(usageRecords.periodBegin, fromMs), lt(usageRecords.periodBegin, toMs)))
    .groupBy(usageRecords.instanceId, productId, instances.skuCode)
    .orderBy(usageRecords.instanceId, productId)
    .all();
  return rows.map((row) => ({
    instanceId: row.instanceId,
    productId: row.productId,
    skuCode: row.skuCode,
    hours: row.hours,
    quantity: fromUnits(row.accepted, SCALE),
    rejectedQuantity: fromUnits(row.rejected, SCALE),
    expiredQuantity: fromUnits(row.expired, SCALE),
    pendingQuantity: fromUnits(row.pending, SCALE),
  }));
}
