import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { type LicenseCodeRow, licenseCodes } from "../db/schema/license-codes";

export function findLicenseCode(db: Db, code: string): Promise<LicenseCodeRow | undefined> {
  return db.select().from(licenseCodes).where(eq(licenseCodes.code, code)).get();
}

export const licenseCodeStatements = {
  /**
   * The new row, or the next version of the one read: a stale write (its version no longer there) changes nothing,
   * and a second insert of one code fails the whole batch on the primary key.
   */
  save: (db: Db, previous: LicenseCodeRow | undefined, next: LicenseCodeRow) =>
    previous
      ? db
          .update(licenseCodes)
          .set(next)
          .where(and(eq(licenseCodes.code, next.code), eq(licenseCodes.version, previous.version)))
      : db.insert(licenseCodes).values(next),
};
