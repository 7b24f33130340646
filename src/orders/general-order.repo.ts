import { selfCheckIdSql } from "../operations/self-check/marker";
import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type GeneralOrder, type GeneralOrderState, type NewGeneralOrder, generalOrders } from "../db/schema/general-orders";
import type { OrderLineKey } from "./general-order";

const byKey = (key: OrderLineKey) =>
  and(eq(generalOrders.orderId, key.orderId), eq(generalOrders.orderLineId, key.orderLineId), eq(generalOrders.isTest, key.isTest));

export function findGeneralOrder(db: Db, key: OrderLineKey): Promise<GeneralOrder | undefined> {
  return db.select().from(generalOrders).where(byKey(key)).get();
}

/** Every notified line of one order, real and debug. */
export function findGeneralOrderLines(db: Db, orderId: string): Promise<GeneralOrder[]> {
  return db
    .select()
    .from(generalOrders)
    .where(eq(generalOrders.orderId, orderId))
    .orderBy(asc(generalOrders.orderLineId), asc(generalOrders.isTest))
    .all();
}

export const generalOrderStatements = {
  /** A plain insert: a second row for the same line fails the batch (the actor then reads the first one back). */
  insert: (db: Db, row: NewGeneralOrder) => db.insert(generalOrders).values(row),
  /** Changes only a line still waiting for its order, so a stale writer (an old alarm) changes nothing. */
  updateReceived: (db: Db, key: OrderLineKey, changes: Partial<GeneralOrder>) =>
    db
      .update(generalOrders)
      .set(changes)
      .where(and(byKey(key), eq(generalOrders.state, "received"))),
  /** A manual resend from the seller center after the fetch gave up: the line waits for its order again. */
  reopen: (db: Db, key: OrderLineKey, changes: Partial<GeneralOrder>) =>
    db
      .update(generalOrders)
      .set(changes)
      .where(and(byKey(key), eq(generalOrders.state, "fetch_failed"))),
};

/**
 * A page of lines, newest notification first, strictly after `after`: one range of general_orders_received_idx (or
 * general_orders_state_idx for one state), read in index order and stopped after `take` rows.
 */
export function listGeneralOrders(db: Db, state: GeneralOrderState | undefined, after: OrderKeyset | undefined, take: number): Promise<GeneralOrder[]> {
  const t = generalOrders;
  return db
    .select()
    .from(t)
    .where(
      and(
        state === undefined ? undefined : eq(t.state, state),
        // The self-check's own notifications are not the seller's (src/operations/self-check/marker.ts).
        sql`NOT (${t.isTest} = 1 AND ${selfCheckIdSql(t.orderId)})`,
        after ? sql`(${t.receivedAt}, ${t.orderId}, ${t.orderLineId}, ${t.isTest}) < (${after.receivedAt}, ${after.orderId}, ${after.orderLineId}, ${after.isTest ? 1 : 0})` : undefined,
      ),
    )
    .orderBy(desc(t.receivedAt), desc(t.orderId), desc(t.orderLineId), desc(t.isTest))
    .limit(take)
    .all();
}

export interface OrderKeyset {
  receivedAt: number;
  orderId: string;
  orderLineId: string;
  isTest: boolean;
}
