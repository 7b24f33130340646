import { and, eq, sql } from "drizzle-orm";
import { openSecret, sealSecret } from "../crypto/data-key";
import type { Db } from "../db/client";
import { type Instance, instances } from "../db/schema/instances";

/**
 * The buyer's admin password, sealed bound to its instance: a value copied into another instance's row does not open.
 * Passwords sealed before 0.3.0 were bound to nothing (data-key.ts format v1); they open until re-sealed.
 */
const contextOf = (instanceId: string) => `instance:${instanceId}:adminPassword`;

export function sealAdminPassword(dataKey: string, instanceId: string, password: string): Promise<string> {
  return sealSecret(dataKey, password, contextOf(instanceId));
}

export function openAdminPassword(dataKey: string, instance: Pick<Instance, "id">, sealed: string): Promise<string> {
  return openSecret(dataKey, sealed, contextOf(instance.id), "none");
}

/** Rows read and re-sealed per D1 batch. */
const RESEAL_BATCH = 50;

export interface ResealCounts {
  resealed: number;
  /** Old-format values that do not open (another DATA_KEY, damage): left as they are, and reported. */
  unreadable: number;
}

/**
 * Re-seals up to `limit` passwords still in the unbound first format, bound to their instance (the daily clean-up;
 * the operator can run it at once: POST /admin/api/jobs/cleanup/run). Only the row's password changes, and only if it
 * is still the value read: a password the actor wrote meanwhile is left alone. The version is not bumped, so no
 * actor's next change is refused for it; an actor holding the old value in its cache still opens it.
 */
export async function resealAdminPasswords(db: Db, dataKey: string, limit: number): Promise<ResealCounts> {
  const counts: ResealCounts = { resealed: 0, unreadable: 0 };
  let after = "";
  for (let seen = 0; seen < limit; ) {
    const rows = await db.all<{ id: string; sealed: string }>(sql`
      SELECT id, admin_password_sealed AS sealed FROM instances
      WHERE admin_password_sealed LIKE 'v1.%' AND id > ${after}
      ORDER BY id LIMIT ${Math.min(RESEAL_BATCH, limit - seen)}`);
    if (rows.length === 0) break;
    seen += rows.length;
    after = rows[rows.length - 1]?.id ?? after;
    const updates = [];
    for (const row of rows) {
      let password: string;
      try {
        password = await openAdminPassword(dataKey, row, row.sealed);
      } catch {
        counts.unreadable += 1;
        continue;
      }
      const bound = await sealAdminPassword(dataKey, row.id, password);
      updates.push(db.update(instances).set({ adminPasswordSealed: bound }).where(and(eq(instances.id, row.id), eq(instances.adminPasswordSealed, row.sealed))).returning({ id: instances.id }));
    }
    const [first, ...rest] = updates;
    if (first) for (const changed of await db.batch([first, ...rest])) counts.resealed += changed.length;
  }
  return counts;
}
