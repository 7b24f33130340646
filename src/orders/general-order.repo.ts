import { and, asc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { type GeneralOrder, type NewGeneralOrder, generalOrders } from "../db/schema/general-orders";
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
