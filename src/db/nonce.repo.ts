import { sql } from "drizzle-orm";
import type { ReplayStore } from "../protocol/v2-signature";
import type { Db } from "./client";
import { nonces } from "./schema/instances";

/**
 * Replay protection in D1: one statement that inserts the nonce, or takes over a row whose lifetime has passed
 * (clean-up runs daily, so expired rows may still be there), and reports whether it did.
 */
export function d1ReplayStore(db: Db, now: number): ReplayStore {
  return {
    async remember(nonce, expiresAtMs) {
      const rows = await db
        .insert(nonces)
        .values({ nonce, expiresAt: expiresAtMs })
        .onConflictDoUpdate({
          target: nonces.nonce,
          set: { expiresAt: expiresAtMs },
          setWhere: sql`${nonces.expiresAt} < ${now}`,
        })
        .returning({ nonce: nonces.nonce });
      return rows.length === 1;
    },
  };
}

export function deleteExpiredNonces(db: Db, now: number) {
  return db.delete(nonces).where(sql`${nonces.expiresAt} < ${now}`);
}
