import { and, asc, desc, eq, inArray } from "drizzle-orm";
import type { Db } from "../db/client";
import {
  type AuditEvent,
  type InboxEntry,
  type Instance,
  type Order,
  auditEvents,
  inbox,
  instances,
  orders,
} from "../db/schema/instances";
import { type AuditLink, GENESIS_HASH, hashAuditLink } from "./audit-chain";

export interface AuditHead {
  seq: number;
  hash: string;
}

export function findInstance(db: Db, id: string): Promise<Instance | undefined> {
  return db.select().from(instances).where(eq(instances.id, id)).get();
}

export function findInstances(db: Db, ids: readonly string[]): Promise<Instance[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db.select().from(instances).where(inArray(instances.id, [...ids])).all();
}

export function findInboxEntry(db: Db, idempotencyKey: string): Promise<InboxEntry | undefined> {
  return db.select().from(inbox).where(eq(inbox.idempotencyKey, idempotencyKey)).get();
}

export async function findAuditHead(db: Db, instanceId: string): Promise<AuditHead | undefined> {
  const row = await db
    .select({ seq: auditEvents.seq, hash: auditEvents.hash })
    .from(auditEvents)
    .where(eq(auditEvents.instanceId, instanceId))
    .orderBy(desc(auditEvents.seq))
    .limit(1)
    .get();
  return row ?? undefined;
}

export function listAuditEvents(db: Db, instanceId: string): Promise<AuditEvent[]> {
  return db.select().from(auditEvents).where(eq(auditEvents.instanceId, instanceId)).orderBy(asc(auditEvents.seq)).all();
}

export function findOrdersOf(db: Db, instanceId: string): Promise<Order[]> {
  return db.select().from(orders).where(eq(orders.instanceId, instanceId)).all();
}

/** Builds the next audit row. Its (instance, seq) key makes a write from a stale head fail the whole batch. */
export function nextAuditRow(key: Buffer, head: AuditHead | undefined, link: Omit<AuditLink, "seq" | "prevHash">) {
  const full: AuditLink = { ...link, seq: (head?.seq ?? 0) + 1, prevHash: head?.hash ?? GENESIS_HASH };
  return { ...full, hash: hashAuditLink(key, full) };
}

export const statements = {
  insertInstance: (db: Db, row: typeof instances.$inferInsert) => db.insert(instances).values(row),
  /** Optimistic: only the version the actor read can be replaced, so a stale writer changes nothing. */
  updateInstance: (db: Db, id: string, expectedVersion: number, changes: Partial<typeof instances.$inferInsert>) =>
    db
      .update(instances)
      .set(changes)
      .where(and(eq(instances.id, id), eq(instances.version, expectedVersion))),
  insertInbox: (db: Db, row: typeof inbox.$inferInsert) => db.insert(inbox).values(row),
  insertAudit: (db: Db, row: typeof auditEvents.$inferInsert) => db.insert(auditEvents).values(row),
  upsertOrder: (db: Db, row: typeof orders.$inferInsert) =>
    db
      .insert(orders)
      .values(row)
      .onConflictDoUpdate({
        target: [orders.orderId, orders.orderLineId],
        set: {
          fetchState: row.fetchState,
          fetchAttempts: row.fetchAttempts,
          nextFetchAt: row.nextFetchAt,
          lastError: row.lastError,
          orderType: row.orderType,
          productId: row.productId,
          skuCode: row.skuCode,
          chargingMode: row.chargingMode,
          periodType: row.periodType,
          periodNumber: row.periodNumber,
          expireAt: row.expireAt,
          customerId: row.customerId,
          customerName: row.customerName,
          amount: row.amount,
          listAmount: row.listAmount,
          orderCreatedAt: row.orderCreatedAt,
          snapshot: row.snapshot,
          fetchedAt: row.fetchedAt,
          updatedAt: row.updatedAt,
        },
      }),
};
