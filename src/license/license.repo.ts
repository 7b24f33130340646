import { and, asc, countDistinct, desc, eq, lte, ne, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type License, type LicenseState, type NewLicense, licenses } from "../db/schema/licenses";

/** Deterministic: a retried request computes the same id before anything is read. */
export async function licenseIdOf(eventId: string, fingerprintSha256: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${eventId}\u0000${fingerprintSha256}`));
  return `lic_${Buffer.from(digest).toString("hex").slice(0, 32)}`;
}

export function findLicense(db: Db, eventId: string, fingerprintSha256: string): Promise<License | undefined> {
  return db.select().from(licenses).where(and(eq(licenses.eventId, eventId), eq(licenses.fingerprintSha256, fingerprintSha256))).get();
}

export function findLicenseById(db: Db, id: string): Promise<License | undefined> {
  return db.select().from(licenses).where(eq(licenses.id, id)).get();
}

/** The licenses of one event, newest first (more than one only when devices differ). */
export function licensesOfEvent(db: Db, eventId: string): Promise<License[]> {
  return db.select().from(licenses).where(eq(licenses.eventId, eventId)).orderBy(desc(licenses.createdAt)).limit(50).all();
}

/** Devices of an instance holding a license that was not refused or lost; `known` when this fingerprint is one. */
export async function devicesOf(db: Db, instanceId: string, fingerprintSha256: string): Promise<{ count: number; known: boolean }> {
  const live = and(eq(licenses.instanceId, instanceId), ne(licenses.fingerprintSha256, ""), ne(licenses.state, "failed"));
  const [counted, same] = await Promise.all([
    db.select({ n: countDistinct(licenses.fingerprintSha256) }).from(licenses).where(live).get(),
    db.select({ id: licenses.id }).from(licenses).where(and(live, eq(licenses.fingerprintSha256, fingerprintSha256))).limit(1).get(),
  ]);
  return { count: counted?.n ?? 0, known: same !== undefined };
}

/** This instance's issued licenses whose next upload is due. */
export function dueUploads(db: Db, instanceId: string, now: number, limit = 20): Promise<License[]> {
  return db
    .select()
    .from(licenses)
    .where(and(eq(licenses.instanceId, instanceId), eq(licenses.state, "issued"), lte(licenses.nextUploadAt, now)))
    .orderBy(asc(licenses.nextUploadAt))
    .limit(limit)
    .all();
}

/** The earliest upload still pending for this instance, for the actor's alarm. */
export async function nextUploadAt(db: Db, instanceId: string): Promise<number | undefined> {
  const row = await db
    .select({ at: licenses.nextUploadAt })
    .from(licenses)
    .where(and(eq(licenses.instanceId, instanceId), eq(licenses.state, "issued")))
    .orderBy(asc(licenses.nextUploadAt))
    .limit(1)
    .get();
  return row?.at ?? undefined;
}

/** Instances with an upload overdue since before `dueBefore`: the sweep wakes their actors (a lost alarm). */
export async function overdueUploadInstances(db: Db, dueBefore: number, limit = 100): Promise<string[]> {
  // Longest overdue first (as overdueStreams), so no instance is starved by more recent ones.
  const rows = await db
    .select({ instanceId: licenses.instanceId })
    .from(licenses)
    .where(and(eq(licenses.state, "issued"), lte(licenses.nextUploadAt, dueBefore)))
    .groupBy(licenses.instanceId)
    .orderBy(sql`min(${licenses.nextUploadAt})`, licenses.instanceId)
    .limit(limit)
    .all();
  return rows.map((row) => row.instanceId);
}

export const licenseStatements = {
  insert: (db: Db, row: NewLicense) => db.insert(licenses).values(row),
  /** Guarded by the state it leaves: a change computed from a stale row changes nothing. */
  update: (db: Db, id: string, from: LicenseState, changes: Partial<License>) =>
    db.update(licenses).set(changes).where(and(eq(licenses.id, id), eq(licenses.state, from))),
};
