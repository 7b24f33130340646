import { type SQL, and, asc, eq, gt, isNull, lt, lte, ne, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client";
import {
  type KitApplication,
  type KitOrg,
  type KitTenant,
  type KitUserRow,
  kitApplications,
  kitOrgTrees,
  kitOrgs,
  kitTenants,
  kitUsers,
} from "../db/schema/kit";

/** Which tenant of which instance, and whether it is debug data (see src/db/schema/kit.ts). */
export interface KitScope {
  instanceId: string;
  isTest: boolean;
  tenantId: string;
}

export type Statement = BatchItem<"sqlite">;

/** Tenant fields an upsert may take over from the incoming sync. */
export type TenantField = "tenantCode" | "orderId" | "name" | "domainName";

/** D1 binds at most 100 parameters per statement (Cloudflare's D1 limits): multi-row writes are cut to fit. */
export const D1_MAX_PARAMS = 100;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function rowsPerStatement(row: object): number {
  return Math.max(1, Math.floor(D1_MAX_PARAMS / Object.keys(row).length));
}

/** `excluded.<column>` for each column: what an upsert takes over from the row it tried to insert. */
function excluded(columns: Record<string, { name: string }>): Record<string, SQL> {
  const set: Record<string, SQL> = {};
  for (const [field, column] of Object.entries(columns)) set[field] = sql.raw(`excluded."${column.name}"`);
  return set;
}

function tenantScope(scope: KitScope) {
  return and(eq(kitTenants.instanceId, scope.instanceId), eq(kitTenants.isTest, scope.isTest), eq(kitTenants.tenantId, scope.tenantId));
}

function appScope(scope: KitScope) {
  return and(
    eq(kitApplications.instanceId, scope.instanceId),
    eq(kitApplications.isTest, scope.isTest),
    eq(kitApplications.tenantId, scope.tenantId),
  );
}

function userScope(scope: KitScope) {
  return and(eq(kitUsers.instanceId, scope.instanceId), eq(kitUsers.isTest, scope.isTest), eq(kitUsers.tenantId, scope.tenantId));
}

function orgScope(scope: KitScope) {
  return and(eq(kitOrgs.instanceId, scope.instanceId), eq(kitOrgs.isTest, scope.isTest), eq(kitOrgs.tenantId, scope.tenantId));
}

// ---- writes (statements for one batch) ---------------------------------------------------------------------------

/*
 * Every write compares the sync's time with the row's (docs/kit-rules.md): it applies when the sync is newer, and at
 * an equal time only when it ranks at least as high as what is stored (delete > revoke > add/modify), so the outcome
 * of two syncs with one time does not depend on which arrived first, and a repeat rewrites what it wrote.
 * The comparison is in the statements themselves (ON CONFLICT … WHERE, UPDATE … WHERE), not in a read before them.
 */

/** Tie-break at an equal sync time: the higher rank wins. */
export const SyncRank = { change: 0, revoke: 1, delete: 2 } as const;
export type SyncRank = (typeof SyncRank)[keyof typeof SyncRank];

/** What a row's state ranks at a tie; users also rank a revoke (authorized 0). */
function storedRank(table: string, revocable = false): string {
  return revocable
    ? `CASE WHEN ${table}.deleted_at IS NOT NULL THEN ${SyncRank.delete} WHEN ${table}.authorized = 0 THEN ${SyncRank.revoke} ELSE ${SyncRank.change} END`
    : `CASE WHEN ${table}.deleted_at IS NOT NULL THEN ${SyncRank.delete} ELSE ${SyncRank.change} END`;
}

/** The ON CONFLICT guard: the incoming row (`excluded`) replaces the stored one only if newer, or tied and not outranked. */
function supersedes(table: string, rank: SyncRank, revocable = false): SQL {
  return sql.raw(
    `(excluded.synced_at > ${table}.synced_at OR (excluded.synced_at = ${table}.synced_at AND ${storedRank(table, revocable)} <= ${rank}))`,
  );
}

/** A tombstone keeps its key and times only: whatever the row said (names, contacts, secrets) is emptied. */
const EMPTY_TENANT = { tenantCode: "", orderId: "", name: "", domainName: "" };
const EMPTY_APPLICATION = { clientId: "", clientSecretSealed: "", oaepVariant: "" };
const EMPTY_USER: Pick<typeof kitUsers.$inferInsert, "name" | "orgCode" | "role" | "enabled" | "authorized" | "profile"> = {
  name: "",
  orgCode: "",
  role: "user",
  enabled: false,
  authorized: false,
  profile: {},
};
const EMPTY_ORG = { orgName: "", parentCode: null };

/** What a delete writes over a row, besides emptying it: the delete's sync time and when the gateway recorded it. */
function tombstoned(syncedAt: number, now: number) {
  return { syncedAt, deletedAt: now, updatedAt: now };
}

export const kitStatements = {
  /**
   * Add or modify (§6.1). An existing live row takes over `fields` (everything on add; name and domain on a V2 modify);
   * a tombstone the sync is newer than comes back whole, as a modify of something unknown inserts it.
   */
  upsertTenant(db: Db, row: typeof kitTenants.$inferInsert, fields: readonly TenantField[]): Statement {
    const set: Record<string, SQL> = {};
    for (const field of ["tenantCode", "orderId", "name", "domainName"] as const) {
      const column = kitTenants[field].name;
      set[field] = fields.includes(field)
        ? sql.raw(`excluded."${column}"`)
        : sql.raw(`CASE WHEN kit_tenants.deleted_at IS NULL THEN kit_tenants."${column}" ELSE excluded."${column}" END`);
    }
    return db
      .insert(kitTenants)
      .values({ ...row, deletedAt: null })
      .onConflictDoUpdate({
        target: [kitTenants.instanceId, kitTenants.isTest, kitTenants.tenantId],
        set: { ...set, ...excluded({ syncedAt: kitTenants.syncedAt, deletedAt: kitTenants.deletedAt, updatedAt: kitTenants.updatedAt }) },
        setWhere: supersedes("kit_tenants", SyncRank.change),
      });
  },

  /**
   * An enterprise unbinding takes its apps, their users and its departments with it: each becomes a tombstone unless
   * a later sync changed it. The tenant keeps the delete's time as the floor for late adds of anything under it.
   */
  deleteTenant(db: Db, scope: KitScope, syncedAt: number, now: number): Statement[] {
    const olderChildren = <T extends typeof kitApplications | typeof kitUsers | typeof kitOrgs>(table: T) =>
      and(isNull(table.deletedAt), lte(table.syncedAt, syncedAt));
    return [
      db
        .insert(kitTenants)
        .values({ ...scope, ...EMPTY_TENANT, ...tombstoned(syncedAt, now), deletedSyncAt: syncedAt, createdAt: now })
        .onConflictDoUpdate({
          target: [kitTenants.instanceId, kitTenants.isTest, kitTenants.tenantId],
          set: excluded({
            tenantCode: kitTenants.tenantCode,
            orderId: kitTenants.orderId,
            name: kitTenants.name,
            domainName: kitTenants.domainName,
            syncedAt: kitTenants.syncedAt,
            deletedAt: kitTenants.deletedAt,
            updatedAt: kitTenants.updatedAt,
          }),
          setWhere: supersedes("kit_tenants", SyncRank.delete),
        }),
      raiseDeletedSyncAt(db, kitTenants, tenantScope(scope), syncedAt),
      db.update(kitApplications).set({ ...EMPTY_APPLICATION, ...tombstoned(syncedAt, now) }).where(and(appScope(scope), olderChildren(kitApplications))),
      db.update(kitUsers).set({ ...EMPTY_USER, ...tombstoned(syncedAt, now) }).where(and(userScope(scope), olderChildren(kitUsers))),
      db.update(kitOrgs).set({ ...EMPTY_ORG, ...tombstoned(syncedAt, now) }).where(and(orgScope(scope), olderChildren(kitOrgs))),
    ];
  },

  upsertApplication(db: Db, row: typeof kitApplications.$inferInsert): Statement {
    return db
      .insert(kitApplications)
      .values({ ...row, deletedAt: null })
      .onConflictDoUpdate({
        target: [kitApplications.instanceId, kitApplications.isTest, kitApplications.tenantId, kitApplications.appId],
        set: excluded({
          clientId: kitApplications.clientId,
          clientSecretSealed: kitApplications.clientSecretSealed,
          oaepVariant: kitApplications.oaepVariant,
          syncedAt: kitApplications.syncedAt,
          deletedAt: kitApplications.deletedAt,
          updatedAt: kitApplications.updatedAt,
        }),
        setWhere: supersedes("kit_applications", SyncRank.change),
      });
  },

  /** Users are authorizations to an app: they go with it, unless a later sync changed them. */
  deleteApplication(db: Db, scope: KitScope, appId: string, syncedAt: number, now: number): Statement[] {
    const theApp = and(appScope(scope), eq(kitApplications.appId, appId));
    return [
      db
        .insert(kitApplications)
        .values({ ...scope, appId, ...EMPTY_APPLICATION, ...tombstoned(syncedAt, now), deletedSyncAt: syncedAt, createdAt: now })
        .onConflictDoUpdate({
          target: [kitApplications.instanceId, kitApplications.isTest, kitApplications.tenantId, kitApplications.appId],
          set: excluded({
            clientId: kitApplications.clientId,
            clientSecretSealed: kitApplications.clientSecretSealed,
            oaepVariant: kitApplications.oaepVariant,
            syncedAt: kitApplications.syncedAt,
            deletedAt: kitApplications.deletedAt,
            updatedAt: kitApplications.updatedAt,
          }),
          setWhere: supersedes("kit_applications", SyncRank.delete),
        }),
      raiseDeletedSyncAt(db, kitApplications, theApp, syncedAt),
      db
        .update(kitUsers)
        .set({ ...EMPTY_USER, ...tombstoned(syncedAt, now) })
        .where(and(userScope(scope), eq(kitUsers.appId, appId), isNull(kitUsers.deletedAt), lte(kitUsers.syncedAt, syncedAt))),
    ];
  },

  /** Add, modify (rank change) or revoke (rank revoke, `authorized` 0) of users: all three upsert (§9). */
  upsertUsers(db: Db, rows: readonly (typeof kitUsers.$inferInsert)[], rank: SyncRank): Statement[] {
    return writeUsers(db, rows.map((row) => ({ ...row, deletedAt: null })), rank);
  },

  /** A tombstone per named user, also for one never seen: a late add of that user older than the delete stays out. */
  deleteUsers(db: Db, scope: KitScope, appId: string, userNames: readonly string[], syncedAt: number, now: number): Statement[] {
    const tombstones = [...new Set(userNames)].map((userName) => ({
      ...scope,
      appId,
      userName,
      ...EMPTY_USER,
      ...tombstoned(syncedAt, now),
      createdAt: now,
    }));
    return writeUsers(db, tombstones, SyncRank.delete);
  },

  upsertOrgs(db: Db, rows: readonly (typeof kitOrgs.$inferInsert)[]): Statement[] {
    return writeOrgs(db, rows.map((row) => ({ ...row, deletedAt: null })), SyncRank.change);
  },

  deleteOrg(db: Db, scope: KitScope, orgCode: string, syncRef: string, syncedAt: number, now: number): Statement {
    const [statement] = writeOrgs(db, [{ ...scope, orgCode, ...EMPTY_ORG, syncRef, ...tombstoned(syncedAt, now), createdAt: now }], SyncRank.delete);
    if (!statement) throw new Error("a tombstone row makes one statement");
    return statement;
  },

  /**
   * After a full sync's upserts in the same batch: every live department the sync did not write goes, unless a sync
   * newer than this one wrote it (a department added after the full sync was made is not stale).
   */
  deleteOrgsNotFrom(db: Db, scope: KitScope, syncRef: string, syncedAt: number, now: number): Statement {
    return db
      .update(kitOrgs)
      .set({ ...EMPTY_ORG, syncRef, ...tombstoned(syncedAt, now) })
      .where(and(orgScope(scope), ne(kitOrgs.syncRef, syncRef), isNull(kitOrgs.deletedAt), lte(kitOrgs.syncedAt, syncedAt)));
  },

  /** Records a full sync's time for the tenant; an older one never lowers it. */
  recordOrgTree(db: Db, scope: KitScope, syncedAt: number, now: number): Statement {
    return db
      .insert(kitOrgTrees)
      .values({ ...scope, syncedAt, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({
        target: [kitOrgTrees.instanceId, kitOrgTrees.isTest, kitOrgTrees.tenantId],
        set: excluded({ syncedAt: kitOrgTrees.syncedAt, updatedAt: kitOrgTrees.updatedAt }),
        setWhere: sql.raw("excluded.synced_at > kit_org_trees.synced_at"),
      });
  },

  /**
   * Tombstones recorded before `before`: past the window in which a late sync could still need them. A tenant's
   * full-sync time goes with its tombstone, so it is deleted first, while the tombstone still names it.
   */
  purgeTombstones(db: Db, before: number): Statement[] {
    return [
      db
        .delete(kitOrgTrees)
        .where(
          sql`(${kitOrgTrees.instanceId}, ${kitOrgTrees.isTest}, ${kitOrgTrees.tenantId}) IN (SELECT instance_id, is_test, tenant_id FROM kit_tenants WHERE deleted_at < ${before})`,
        ),
      db.delete(kitUsers).where(lt(kitUsers.deletedAt, before)),
      db.delete(kitOrgs).where(lt(kitOrgs.deletedAt, before)),
      db.delete(kitApplications).where(lt(kitApplications.deletedAt, before)),
      db.delete(kitTenants).where(lt(kitTenants.deletedAt, before)),
    ];
  },
};

function raiseDeletedSyncAt(db: Db, table: typeof kitTenants | typeof kitApplications, where: SQL | undefined, syncedAt: number): Statement {
  return db
    .update(table)
    .set({ deletedSyncAt: syncedAt })
    .where(and(where, or(isNull(table.deletedSyncAt), lt(table.deletedSyncAt, syncedAt))));
}

/**
 * How long a tombstone is kept: far past every retry window of the spec (§7: automatic retries end within 3 h; kit
 * syncs are retried by hand by the buyer's admin after the failure notice; V1 kit calls are refused once their
 * timeStamp is older than V1_TIMESTAMP_MAX_AGE_SECONDS, 1 day by default). See docs/kit-rules.md.
 */
export const KIT_TOMBSTONE_RETENTION_MS = 30 * 24 * 3600_000;

/** For the daily clean-up: removes tombstones older than the retention; returns how many rows went. */
export async function purgeKitTombstones(db: Db, now: number): Promise<number> {
  const [first, ...rest] = kitStatements.purgeTombstones(db, now - KIT_TOMBSTONE_RETENTION_MS);
  if (!first) return 0;
  const results = await db.batch([first, ...rest]);
  return results.reduce((sum, result) => sum + result.meta.changes, 0);
}

/**
 * The times that hold a sync back whole: the latest delete of its tenant, for users of their app (see
 * `deletedSyncAt`), and for departments the latest full sync of the tree.
 */
export interface SyncFloors {
  tenant: number | null;
  application: number | null;
  orgTree: number | null;
}

export async function findSyncFloors(db: Db, scope: KitScope, of: { appId?: string; orgTree?: boolean } = {}): Promise<SyncFloors> {
  const { appId, orgTree } = of;
  const [tenant, application, tree] = await Promise.all([
    db.select({ at: kitTenants.deletedSyncAt }).from(kitTenants).where(tenantScope(scope)).get(),
    appId === undefined
      ? undefined
      : db
          .select({ at: kitApplications.deletedSyncAt })
          .from(kitApplications)
          .where(and(appScope(scope), eq(kitApplications.appId, appId)))
          .get(),
    orgTree
      ? db
          .select({ at: kitOrgTrees.syncedAt })
          .from(kitOrgTrees)
          .where(and(eq(kitOrgTrees.instanceId, scope.instanceId), eq(kitOrgTrees.isTest, scope.isTest), eq(kitOrgTrees.tenantId, scope.tenantId)))
          .get()
      : undefined,
  ]);
  return { tenant: tenant?.at ?? null, application: application?.at ?? null, orgTree: tree?.at ?? null };
}

// ---- reads (seller API) ------------------------------------------------------------------------------------------

/** Live real data only: debug syncs are kept apart and tombstones (deleted rows) are never shown to the seller's app. */
export function findTenantsOf(db: Db, instanceId: string): Promise<KitTenant[]> {
  return db
    .select()
    .from(kitTenants)
    .where(and(eq(kitTenants.instanceId, instanceId), eq(kitTenants.isTest, false), isNull(kitTenants.deletedAt)))
    .orderBy(asc(kitTenants.tenantId))
    .all();
}

export function findApplicationsOf(db: Db, instanceId: string): Promise<KitApplication[]> {
  return db
    .select()
    .from(kitApplications)
    .where(and(eq(kitApplications.instanceId, instanceId), eq(kitApplications.isTest, false), isNull(kitApplications.deletedAt)))
    .orderBy(asc(kitApplications.tenantId), asc(kitApplications.appId))
    .all();
}

export interface UserCursor {
  tenantId: string;
  appId: string;
  userName: string;
}

/** Keyset pagination in primary-key order: each page is one index range, however many users an instance has. */
export function listUsers(db: Db, instanceId: string, after: UserCursor | undefined, limit: number): Promise<KitUserRow[]> {
  const base = and(eq(kitUsers.instanceId, instanceId), eq(kitUsers.isTest, false), isNull(kitUsers.deletedAt));
  const where = after
    ? and(
        base,
        or(
          gt(kitUsers.tenantId, after.tenantId),
          and(eq(kitUsers.tenantId, after.tenantId), gt(kitUsers.appId, after.appId)),
          and(eq(kitUsers.tenantId, after.tenantId), eq(kitUsers.appId, after.appId), gt(kitUsers.userName, after.userName)),
        ),
      )
    : base;
  return db
    .select()
    .from(kitUsers)
    .where(where)
    .orderBy(asc(kitUsers.tenantId), asc(kitUsers.appId), asc(kitUsers.userName))
    .limit(limit)
    .all();
}

export interface OrgCursor {
  tenantId: string;
  orgCode: string;
}

export function listOrgs(db: Db, instanceId: string, after: OrgCursor | undefined, limit: number): Promise<KitOrg[]> {
  const base = and(eq(kitOrgs.instanceId, instanceId), eq(kitOrgs.isTest, false), isNull(kitOrgs.deletedAt));
  const where = after
    ? and(
        base,
        or(gt(kitOrgs.tenantId, after.tenantId), and(eq(kitOrgs.tenantId, after.tenantId), gt(kitOrgs.orgCode, after.orgCode))),
      )
    : base;
  return db.select().from(kitOrgs).where(where).orderBy(asc(kitOrgs.tenantId), asc(kitOrgs.orgCode)).limit(limit).all();
}

/** User rows in statements of at most 100 parameters, each row written only where it supersedes what is stored. */
function writeUsers(db: Db, rows: readonly (typeof kitUsers.$inferInsert)[], rank: SyncRank): Statement[] {
  const first = rows[0];
  if (!first) return [];
  return chunk(rows, rowsPerStatement(first)).map((part) =>
    db
      .insert(kitUsers)
      .values(part)
      .onConflictDoUpdate({
        target: [kitUsers.instanceId, kitUsers.isTest, kitUsers.tenantId, kitUsers.appId, kitUsers.userName],
        set: excluded({
          name: kitUsers.name,
          orgCode: kitUsers.orgCode,
          role: kitUsers.role,
          enabled: kitUsers.enabled,
          authorized: kitUsers.authorized,
          profile: kitUsers.profile,
          syncedAt: kitUsers.syncedAt,
          deletedAt: kitUsers.deletedAt,
          updatedAt: kitUsers.updatedAt,
        }),
        setWhere: supersedes("kit_users", rank, true),
      }),
  );
}

/** Department rows in statements of at most 100 parameters, each written only where it supersedes what is stored. */
function writeOrgs(db: Db, rows: readonly (typeof kitOrgs.$inferInsert)[], rank: SyncRank): Statement[] {
  const first = rows[0];
  if (!first) return [];
  return chunk(rows, rowsPerStatement(first)).map((part) =>
    db
      .insert(kitOrgs)
      .values(part)
      .onConflictDoUpdate({
        target: [kitOrgs.instanceId, kitOrgs.isTest, kitOrgs.tenantId, kitOrgs.orgCode],
        set: excluded({
          orgName: kitOrgs.orgName,
          parentCode: kitOrgs.parentCode,
          syncRef: kitOrgs.syncRef,
          syncedAt: kitOrgs.syncedAt,
          deletedAt: kitOrgs.deletedAt,
          updatedAt: kitOrgs.updatedAt,
        }),
        setWhere: supersedes("kit_orgs", rank),
      }),
  );
}
