import { sql } from "drizzle-orm";
import { type IndexColumn, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { epochMs, timestamps } from "./common";

/*
 * Joint-operation kit data (spec saas-production-interface §6), written only by src/kit through the instance's
 * actor. Every row is scoped by (instance_id, is_test, tenant_id):
 * - instance_id is "" for syncs of the seller's own app credential or test account (§6: sent empty), and is not a
 *   foreign key: kit deletes must not check the instance (§6), and a debug case may name an instance we never saw;
 * - is_test keeps debug data (testFlag 1) apart from real data under the same ids, so a saved debug case replayed by
 *   the dial tests never touches a real tenant (spec README point 11).
 * Primary keys are the natural keys of §9, so a repeated add meets its row instead of creating one.
 *
 * A delete leaves a tombstone instead of removing the row (docs/kit-rules.md): the row keeps its key and the delete's
 * sync time in `synced_at`, its other fields are emptied, and `deleted_at` is set. A late add or modify older than the
 * tombstone then finds it and changes nothing; the seller API never lists it; the daily clean-up removes it once no
 * late sync can arrive any more (KIT_TOMBSTONE_RETENTION_MS).
 */
const scope = {
  instanceId: text("instance_id").notNull(),
  isTest: integer("is_test", { mode: "boolean" }).notNull(),
  tenantId: text("tenant_id").notNull(),
};

/** Gateway time the delete was recorded; null while the row is live. The clean-up counts retention from it. */
const deletedAt = () => epochMs("deleted_at");

/**
 * For rows that own others (tenant: apps, users, departments; app: users): the sync time of the latest delete, kept
 * when the row is added again, so a late add of a child older than that delete stays out even if the child was never
 * seen before the delete.
 */
const deletedSyncAt = () => epochMs("deleted_sync_at");

/** Only tombstones are indexed: the clean-up reads them, never the live rows. */
const tombstoneIndex = (name: string, column: IndexColumn) => index(name).on(column).where(sql`deleted_at IS NOT NULL`);

/** tenantSync: the enterprise that bound the app; `domainName` is its SSO base URL (§6.6). */
export const kitTenants = sqliteTable(
  "kit_tenants",
  {
    ...scope,
    tenantCode: text("tenant_code").notNull(),
    orderId: text("order_id").notNull(),
    name: text("name").notNull(),
    domainName: text("domain_name").notNull(),
    /** The `timeStamp` (UTC+8 on the wire) of the sync that last changed the row, delete included, as epoch ms. */
    syncedAt: epochMs("synced_at").notNull(),
    deletedAt: deletedAt(),
    deletedSyncAt: deletedSyncAt(),
    ...timestamps,
  },
  (t) => [
    primaryKey({ name: "kit_tenants_pk", columns: [t.instanceId, t.isTest, t.tenantId] }),
    tombstoneIndex("kit_tenants_tombstones_idx", t.deletedAt),
  ],
);

/** applicationSync: the OAuth2 client of one app in one tenant. */
export const kitApplications = sqliteTable(
  "kit_applications",
  {
    ...scope,
    appId: text("app_id").notNull(),
    clientId: text("client_id").notNull(),
    /** RSA-OAEP-decrypted, then AES-GCM sealed with DATA_KEY bound to this row's key (src/kit/kit-secrets.ts); never logged. */
    clientSecretSealed: text("client_secret_sealed").notNull(),
    /** Which OAEP variant decrypted it, e.g. "SHA-256/MGF1-SHA-1": the answer to open question 7 of the spec. */
    oaepVariant: text("oaep_variant").notNull(),
    syncedAt: epochMs("synced_at").notNull(),
    deletedAt: deletedAt(),
    deletedSyncAt: deletedSyncAt(),
    ...timestamps,
  },
  (t) => [
    primaryKey({ name: "kit_applications_pk", columns: [t.instanceId, t.isTest, t.tenantId, t.appId] }),
    tombstoneIndex("kit_applications_tombstones_idx", t.deletedAt),
  ],
);

export interface KitUserProfile {
  position?: string;
  employeeCode?: string;
  mobile?: string;
  email?: string;
  entryDate?: string;
  employeeType?: string;
  workPlace?: string;
}

/**
 * authSync: a user's authorization to one app. The optional fields share one JSON column so that a 500-user sync
 * needs few statements (D1 binds at most 100 parameters per statement).
 */
export const kitUsers = sqliteTable(
  "kit_users",
  {
    ...scope,
    appId: text("app_id").notNull(),
    userName: text("user_name").notNull(),
    name: text("name").notNull(),
    orgCode: text("org_code").notNull(),
    role: text("role", { enum: ["user", "admin"] }).notNull(),
    /** The user's `enable` as synced. */
    enabled: integer("enabled", { mode: "boolean" }).notNull(),
    /** False after a revoke (flag 3): kept, so the seller's app can tell "revoked" from "never synced". */
    authorized: integer("authorized", { mode: "boolean" }).notNull(),
    profile: text("profile", { mode: "json" }).$type<KitUserProfile>().notNull(),
    /** The `currentSyncTime` of the sync that last changed the row, delete included, as epoch ms. */
    syncedAt: epochMs("synced_at").notNull(),
    deletedAt: deletedAt(),
    ...timestamps,
  },
  (t) => [
    primaryKey({ name: "kit_users_pk", columns: [t.instanceId, t.isTest, t.tenantId, t.appId, t.userName] }),
    tombstoneIndex("kit_users_tombstones_idx", t.deletedAt),
  ],
);

/** singleOrgSync / allOrgSync: the tenant's department tree as a flat list. */
export const kitOrgs = sqliteTable(
  "kit_orgs",
  {
    ...scope,
    orgCode: text("org_code").notNull(),
    orgName: text("org_name").notNull(),
    /** Null for a top-level department. */
    parentCode: text("parent_code"),
    /** The inbox key of the sync that last wrote the row: a full sync removes the rows it did not write. */
    syncRef: text("sync_ref").notNull(),
    syncedAt: epochMs("synced_at").notNull(),
    deletedAt: deletedAt(),
    ...timestamps,
  },
  (t) => [
    primaryKey({ name: "kit_orgs_pk", columns: [t.instanceId, t.isTest, t.tenantId, t.orgCode] }),
    tombstoneIndex("kit_orgs_tombstones_idx", t.deletedAt),
  ],
);

/**
 * The time of the latest full department sync applied per tenant. A full sync states the whole tree at its time, so
 * a department add or an older full sync from before it is stale, even for a department this gateway never saw.
 */
export const kitOrgTrees = sqliteTable(
  "kit_org_trees",
  {
    ...scope,
    syncedAt: epochMs("synced_at").notNull(),
    ...timestamps,
  },
  (t) => [primaryKey({ name: "kit_org_trees_pk", columns: [t.instanceId, t.isTest, t.tenantId] })],
);

export type KitTenant = typeof kitTenants.$inferSelect;
export type KitApplication = typeof kitApplications.$inferSelect;
export type KitUserRow = typeof kitUsers.$inferSelect;
export type KitOrg = typeof kitOrgs.$inferSelect;
