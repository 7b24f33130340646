import type { IRequest } from "itty-router";
import { z } from "zod";
import { getDb } from "../db/client";
import type { KitOrg, KitUserRow } from "../db/schema/kit";
import { getSettings } from "../env";
import { toGatewayError } from "../protocol/errors";
import { findApplicationsOf, findTenantsOf, listOrgs, listUsers } from "../kit/kit.repo";
import { openClientSecret } from "../kit/kit-secrets";
import { log } from "../observability/log";
import { requireSellerToken } from "./seller-auth";

/*
 * Seller API reads of the joint-operation kit data of one instance (docs/seller-contract.md). Only real data (testFlag 0) is
 * shown; debug syncs stay apart, and tombstones of deleted rows are filtered out by the kit.repo reads
 * (docs/kit-rules.md). Lists are keyset-paginated: `?limit=1..500` (default 100) and the `nextCursor` of the previous
 * page as `?cursor=`; `nextCursor` is null on the last page.
 */

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 500;

const Limit = z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE);

class BadRequest extends Error {}

function instanceIdOf(request: IRequest): string {
  const id = String(request.params.id ?? "");
  if (id === "" || id.length > 64) throw new BadRequest("instance id must be 1 to 64 characters");
  return id;
}

function limitOf(url: URL): number {
  const result = Limit.safeParse(url.searchParams.get("limit") ?? undefined);
  if (!result.success) throw new BadRequest(`limit must be an integer from 1 to ${MAX_PAGE}`);
  return result.data;
}

/** The cursor is the last row's key, opaque to the caller (base64url of a JSON array of strings). */
function encodeCursor(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts), "utf8").toString("base64url");
}

function decodeCursor(url: URL, size: number): string[] | undefined {
  const text = url.searchParams.get("cursor");
  if (text === null || text === "") return undefined;
  try {
    const parts = z.array(z.string()).length(size).parse(JSON.parse(Buffer.from(text, "base64url").toString("utf8")));
    return parts;
  } catch {
    throw new BadRequest("cursor is not one this API returned");
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One shape for every route: token, then 400 for bad parameters, 500 (logged, never detailed) for the rest. */
function sellerRoute(route: string, read: (request: IRequest, env: Env, url: URL) => Promise<Response>) {
  return async (request: IRequest, env: Env): Promise<Response> => {
    const started = Date.now();
    const denied = requireSellerToken(request, env);
    if (denied) return denied;
    try {
      return await read(request, env, new URL(request.url));
    } catch (error) {
      if (error instanceof BadRequest) return Response.json({ error: error.message }, { status: 400 });
      const failure = toGatewayError(error);
      log("error", "seller_api.failed", { route, detail: failure.detail ?? failure.message, ms: Date.now() - started });
      return Response.json({ error: "internal error" }, { status: 500 });
    }
  };
}

/**
 * GET /api/v1/instances/{id}/tenant: the bound enterprise(s) and their apps, with the OAuth2 client secret in plain
 * text: the seller's app needs it for the token call of the SSO flow (spec §6.6). 404 when nothing was synced.
 */
export const getKitTenant = sellerRoute("GET /api/v1/instances/:id/tenant", async (request, env) => {
  const instanceId = instanceIdOf(request);
  const db = getDb(env);
  const [tenants, applications] = await Promise.all([findTenantsOf(db, instanceId), findApplicationsOf(db, instanceId)]);
  if (tenants.length === 0 && applications.length === 0) {
    return Response.json({ error: `no kit tenant synced for instance ${instanceId}` }, { status: 404 });
  }
  const dataKey = getSettings(env).dataKey;
  const apps = await Promise.all(
    applications.map(async (app) => ({
      tenantId: app.tenantId,
      appId: app.appId,
      clientId: app.clientId,
      clientSecret: await openClientSecret(dataKey, app),
      syncedAt: iso(app.syncedAt),
    })),
  );
  // An app may be synced before its tenant: it is listed under a tenant entry that has only its id.
  const tenantIds = [...new Set([...tenants.map((t) => t.tenantId), ...apps.map((a) => a.tenantId)])].sort();
  const body = {
    instanceId,
    tenants: tenantIds.map((tenantId) => {
      const tenant = tenants.find((t) => t.tenantId === tenantId);
      return {
        tenantId,
        ...(tenant
          ? { tenantCode: tenant.tenantCode, name: tenant.name, domainName: tenant.domainName, orderId: tenant.orderId, syncedAt: iso(tenant.syncedAt) }
          : {}),
        applications: apps.filter((a) => a.tenantId === tenantId).map(({ tenantId: _t, ...app }) => app),
      };
    }),
  };
  return Response.json(body, { headers: { "Cache-Control": "no-store" } });
});

function userView(row: KitUserRow) {
  return {
    tenantId: row.tenantId,
    appId: row.appId,
    userName: row.userName,
    name: row.name,
    orgCode: row.orgCode,
    role: row.role,
    enabled: row.enabled,
    authorized: row.authorized,
    ...row.profile,
    syncedAt: iso(row.syncedAt),
  };
}

/** GET /api/v1/instances/{id}/users: every synced user, revoked ones with `authorized: false`. */
export const getKitUsers = sellerRoute("GET /api/v1/instances/:id/users", async (request, env, url) => {
  const instanceId = instanceIdOf(request);
  const limit = limitOf(url);
  const cursor = decodeCursor(url, 3);
  const after = cursor ? { tenantId: cursor[0] ?? "", appId: cursor[1] ?? "", userName: cursor[2] ?? "" } : undefined;
  // One more than asked tells whether another page exists without a count query.
  const rows = await listUsers(getDb(env), instanceId, after, limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const nextCursor = rows.length > limit && last ? encodeCursor([last.tenantId, last.appId, last.userName]) : null;
  return Response.json({ instanceId, users: page.map(userView), nextCursor });
});

function orgView(row: KitOrg) {
  return { tenantId: row.tenantId, orgCode: row.orgCode, orgName: row.orgName, parentCode: row.parentCode, syncedAt: iso(row.syncedAt) };
}

/** GET /api/v1/instances/{id}/orgs: the department tree as a flat list (`parentCode` null at the top). */
export const getKitOrgs = sellerRoute("GET /api/v1/instances/:id/orgs", async (request, env, url) => {
  const instanceId = instanceIdOf(request);
  const limit = limitOf(url);
  const cursor = decodeCursor(url, 2);
  const after = cursor ? { tenantId: cursor[0] ?? "", orgCode: cursor[1] ?? "" } : undefined;
  const rows = await listOrgs(getDb(env), instanceId, after, limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const nextCursor = rows.length > limit && last ? encodeCursor([last.tenantId, last.orgCode]) : null;
  return Response.json({ instanceId, orgs: page.map(orgView), nextCursor });
});
