import { type SQL, and, asc, eq, gt, inArray, ne, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client";
import {
  type KitApplication,
  type KitOrg,
  type KitTenant,
  type KitUserRow,
  kitApplications,
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

/** D1 binds at most 100 parameters per statement (cloudflare-platform.md): multi-row writes are cut to fit. */
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

export const kitStatements = {
  /** `fields` are what an existing row takes over: everything on add, only name and domain on a V2 modify (§6.1). */
  upsertTenant(db: Db, row: typeof kitTenants.$inferInsert, fields: readonly TenantField[]): Statement {
    return db
      .insert(kitTenants)
      .values(row)
      .onConflictDoUpdate({
        target: [kitTenants.instanceId, kitTenants.isTest, kitTenants.tenantId],
        set: excluded(Object.fromEntries([...fields, "syncedAt", "updatedAt"].map((field) => [field, kitTenants[field as TenantField]]))),
      });
  },

  /** An enterprise unbinding takes its apps, their users and its departments with it. */
  deleteTenant(db: Db, scope: KitScope): Statement[] {
    return [
      db.delete(kitUsers).where(userScope(scope)),
      db.delete(kitApplications).where(appScope(scope)),
      db.delete(kitOrgs).where(orgScope(scope)),
      db.delete(kitTenants).where(tenantScope(scope)),
    ];
  },

  upsertApplication(db: Db, row: typeof kitApplications.$inferInsert): Statement {
    return db
      .insert(kitApplications)
      .values(row)
      .onConflictDoUpdate({
        target: [kitApplications.instanceId, kitApplications.isTest, kitApplications.tenantId, kitApplications.appId],
        set: excluded({
          clientId: kitApplications.clientId,
          clientSecretSealed: kitApplications.clientSecretSealed,
          oaepVariant: kitApplications.oaepVariant,
          syncedAt: kitApplications.syncedAt,
          updatedAt: kitApplications.updatedAt,
        }),
      });
  },

  /** Users are authorizations to an app: they go with it. */
  deleteApplication(db: Db, scope: KitScope, appId: string): Statement[] {
    return [
      db.delete(kitUsers).where(and(userScope(scope), eq(kitUsers.appId, appId))),
      db.delete(kitApplications).where(and(appScope(scope), eq(kitApplications.appId, appId))),
    ];
  },

  upsertUsers(db: Db, rows: readonly (typeof kitUsers.$inferInsert)[]): Statement[] {
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
            updatedAt: kitUsers.updatedAt,
          }),
        }),
    );
  },

  deleteUsers(db: Db, scope: KitScope, appId: string, userNames: readonly string[]): Statement[] {
    // Four parameters are the scope and the app.
    return chunk([...new Set(userNames)], D1_MAX_PARAMS - 4).map((names) =>
      db.delete(kitUsers).where(and(userScope(scope), eq(kitUsers.appId, appId), inArray(kitUsers.userName, names))),
    );
  },

  upsertOrgs(db: Db, rows: readonly (typeof kitOrgs.$inferInsert)[]): Statement[] {
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
            updatedAt: kitOrgs.updatedAt,
          }),
        }),
    );
  },

  deleteOrg(db: Db, scope: KitScope, orgCode: string): Statement {
    return db.delete(kitOrgs).where(and(orgScope(scope), eq(kitOrgs.orgCode, orgCode)));
  },

  /** After a full sync's upserts in the same batch: every department the sync did not name goes. */
  deleteOrgsNotFrom(db: Db, scope: KitScope, syncRef: string): Statement {
    return db.delete(kitOrgs).where(and(orgScope(scope), ne(kitOrgs.syncRef, syncRef)));
  },
};

// ---- reads (seller API) ------------------------------------------------------------------------------------------

/** Real data only: debug syncs are kept apart and never shown to the seller's app. */
export function findTenantsOf(db: Db, instanceId: string): Promise<KitTenant[]> {
  return db
    .select()
    .from(kitTenants)
    .where(and(eq(kitTenants.instanceId, instanceId), eq(kitTenants.isTest, false)))
    .orderBy(asc(kitTenants.tenantId))
    .all();
}

export function findApplicationsOf(db: Db, instanceId: string): Promise<KitApplication[]> {
  return db
    .select()
    .from(kitApplications)
    .where(and(eq(kitApplications.instanceId, instanceId), eq(kitApplications.isTest, false)))
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
  const base = and(eq(kitUsers.instanceId, instanceId), eq(kitUsers.isTest, false));
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
  const base = and(eq(kitOrgs.instanceId, instanceId), eq(kitOrgs.isTest, false));
  const where = after
    ? and(
        base,
        or(gt(kitOrgs.tenantId, after.tenantId), and(eq(kitOrgs.tenantId, after.tenantId), gt(kitOrgs.orgCode, after.orgCode))),
      )
    : base;
  return db.select().from(kitOrgs).where(where).orderBy(asc(kitOrgs.tenantId), asc(kitOrgs.orgCode)).limit(limit).all();
}
