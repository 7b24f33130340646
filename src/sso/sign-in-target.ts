import { and, asc, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { type KitApplication, type KitTenant, kitApplications, kitTenants, kitUsers } from "../db/schema/kit";
import { findInstance } from "../instances/instance.repo";

/*
 * Whose IdP a sign-in goes to: the purchase (instance_id) or, for the Marketplace's test enterprise, whose kit syncs
 * carry no instance id, the tenant (tenant_id); then its synced tenant (domainName) and app (clientId, sealed secret).
 */

export interface SignInScope {
  /** Null for the test enterprise: its kit rows are stored under instance id "". */
  instanceId: string | null;
  isTest: boolean;
  tenantId: string;
  appId: string;
}

export interface SignInTarget {
  scope: SignInScope;
  tenant: KitTenant;
  app: KitApplication;
}

export type Resolution = { ok: true; target: SignInTarget } | { ok: false; error: "access_denied" | "invalid_request"; description: string };

const denied = (description: string): Resolution => ({ ok: false, error: "access_denied", description });

export interface TargetQuery {
  instanceId?: string;
  tenantId?: string;
  appId?: string;
}

/** Only an active purchase signs in: a provisioning one is not delivered yet; frozen, released and failed ones are over. */
async function instanceRefusal(db: Db, instanceId: string): Promise<{ refusal: string } | { isTest: boolean }> {
  const instance = await findInstance(db, instanceId);
  if (!instance) return { refusal: "unknown purchase" };
  if (instance.status !== "active") return { refusal: `the purchase is ${instance.status}` };
  return { isTest: instance.isTest };
}

function liveTenants(db: Db, instanceId: string, isTest: boolean | undefined, tenantId: string | undefined): Promise<KitTenant[]> {
  return db
    .select()
    .from(kitTenants)
    .where(
      and(
        eq(kitTenants.instanceId, instanceId),
        isTest === undefined ? undefined : eq(kitTenants.isTest, isTest),
        tenantId === undefined ? undefined : eq(kitTenants.tenantId, tenantId),
        isNull(kitTenants.deletedAt),
      ),
    )
    .orderBy(asc(kitTenants.tenantId))
    .all();
}

function liveApps(db: Db, tenant: KitTenant): Promise<KitApplication[]> {
  return db
    .select()
    .from(kitApplications)
    .where(
      and(
        eq(kitApplications.instanceId, tenant.instanceId),
        eq(kitApplications.isTest, tenant.isTest),
        eq(kitApplications.tenantId, tenant.tenantId),
        isNull(kitApplications.deletedAt),
      ),
    )
    .orderBy(asc(kitApplications.appId))
    .all();
}

export async function resolveTarget(db: Db, query: TargetQuery): Promise<Resolution> {
  let tenants: KitTenant[];
  if (query.instanceId !== undefined) {
    const instance = await instanceRefusal(db, query.instanceId);
    if ("refusal" in instance) return denied(instance.refusal);
    tenants = await liveTenants(db, query.instanceId, instance.isTest, query.tenantId);
    // A debug purchase signs in with the Marketplace's test enterprise, whose syncs name no instance.
    if (tenants.length === 0 && instance.isTest) tenants = await liveTenants(db, "", undefined, query.tenantId);
  } else if (query.tenantId !== undefined) {
    tenants = await liveTenants(db, "", undefined, query.tenantId);
  } else {
    return { ok: false, error: "invalid_request", description: "instance_id (or tenant_id for the test enterprise) is required" };
  }
  if (tenants.length === 0) return denied("no enterprise is synced for this purchase");
  if (tenants.length > 1) {
    // One tenant id stored as both real and debug data (instance id ""): the debug copy is the test enterprise's.
    const test = tenants.filter((tenant) => tenant.isTest);
    if (test.length !== 1 || new Set(tenants.map((tenant) => tenant.tenantId)).size > 1) {
      return denied("several enterprises are synced for this purchase: pass tenant_id");
    }
    tenants = test;
  }
  const tenant = tenants[0];
  if (!tenant) return denied("no enterprise is synced for this purchase");
  const apps = (await liveApps(db, tenant)).filter((app) => query.appId === undefined || app.appId === query.appId);
  if (apps.length === 0) return denied("no application is synced for this enterprise");
  if (apps.length > 1) return denied("several applications are synced for this enterprise: pass app_id");
  const app = apps[0];
  if (!app) return denied("no application is synced for this enterprise");
  return {
    ok: true,
    target: { scope: { instanceId: query.instanceId ?? null, isTest: tenant.isTest, tenantId: tenant.tenantId, appId: app.appId }, tenant, app },
  };
}

/**
 * At the IdP's return: the tenant and app again (either may have been deleted meanwhile) and the purchase still
 * active. `instanceId` is the purchase the app named, which may differ from where the kit rows live (debug purchases).
 */
export async function reloadTarget(db: Db, instanceId: string | null, scope: Omit<SignInScope, "instanceId"> & { kitInstanceId: string }): Promise<Resolution> {
  if (instanceId !== null) {
    const instance = await instanceRefusal(db, instanceId);
    if ("refusal" in instance) return denied(instance.refusal);
  }
  const tenant = (await liveTenants(db, scope.kitInstanceId, scope.isTest, scope.tenantId))[0];
  if (!tenant) return denied("the enterprise was unbound during sign-in");
  const app = (await liveApps(db, tenant)).find((row) => row.appId === scope.appId);
  if (!app) return denied("the application was unbound during sign-in");
  return { ok: true, target: { scope: { instanceId, isTest: scope.isTest, tenantId: scope.tenantId, appId: scope.appId }, tenant, app } };
}

/**
 * What authSync says of the user: refused when their authorization was removed (deleted or revoked) or they were
 * disabled. A user authSync never mentioned is let in: the sync is asynchronous and may lag the IdP.
 */
export async function userRefusal(db: Db, app: KitApplication, userName: string): Promise<string | undefined> {
  const row = await db
    .select({ deletedAt: kitUsers.deletedAt, authorized: kitUsers.authorized, enabled: kitUsers.enabled, orgCode: kitUsers.orgCode })
    .from(kitUsers)
    .where(
      and(
        eq(kitUsers.instanceId, app.instanceId),
        eq(kitUsers.isTest, app.isTest),
        eq(kitUsers.tenantId, app.tenantId),
        eq(kitUsers.appId, app.appId),
        eq(kitUsers.userName, userName),
      ),
    )
    .get();
  if (!row) return undefined;
  if (row.deletedAt !== null) return "the user's authorization was removed";
  if (!row.authorized) return "the user's authorization was revoked";
  if (!row.enabled) return "the user is disabled";
  return undefined;
}
