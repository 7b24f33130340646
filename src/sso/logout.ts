import { and, asc, eq, isNull } from "drizzle-orm";
import type { IRequest } from "itty-router";
import { type Db, getDb } from "../db/client";
import { type KitTenant, kitTenants } from "../db/schema/kit";
import { verifiedPayload } from "./id-token";
import { errorPage, redirectTo } from "./responses";
import type { SsoConfig } from "./sso-settings";
import { idpBase, logoutUrl } from "./tenant-idp";

/** The return address must be on the origin of a registered redirect URI: never an open redirect. */
function allowedReturn(config: SsoConfig, uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  return !url.hash && config.redirectUris.some((registered) => new URL(registered).origin === url.origin);
}

/** The tenant to sign out of. A frozen or released purchase still signs out; only the synced tenant is needed. */
async function tenantToLeave(db: Db, instanceId: string | undefined, tenantId: string | undefined): Promise<KitTenant | undefined> {
  const find = (kitInstanceId: string) =>
    db
      .select()
      .from(kitTenants)
      .where(
        and(eq(kitTenants.instanceId, kitInstanceId), tenantId === undefined ? undefined : eq(kitTenants.tenantId, tenantId), isNull(kitTenants.deletedAt)),
      )
      .orderBy(asc(kitTenants.tenantId), asc(kitTenants.isTest))
      .all();
  let rows = instanceId === undefined ? [] : await find(instanceId);
  // Debug purchases and test-enterprise sign-ins: the test enterprise's rows have instance id "".
  if (rows.length === 0 && tenantId !== undefined) rows = await find("");
  return new Set(rows.map((row) => row.tenantId)).size === 1 ? rows[0] : undefined;
}

/**
 * GET /oidc/logout (OpenID RP-Initiated Logout): `id_token_hint` (or `instance_id`, with `tenant_id` when needed) says
 * whose IdP; the browser goes to that IdP's logout, which returns it to `post_logout_redirect_uri` (with `state`).
 */
export async function logout(request: IRequest, env: Env, config: SsoConfig): Promise<Response> {
  const params = new URL(request.url).searchParams;
  const hint = params.get("id_token_hint");
  let instanceId = params.get("instance_id") ?? undefined;
  let tenantId = params.get("tenant_id") ?? undefined;
  if (hint) {
    const claims = await verifiedPayload(config, hint);
    if (!claims || claims.iss !== config.issuer) return errorPage(400, "Sign-out refused", "id_token_hint is not an id_token of this gateway.");
    instanceId = typeof claims.instance_id === "string" ? claims.instance_id : undefined;
    tenantId = typeof claims.tenant_id === "string" ? claims.tenant_id : undefined;
  }
  const postLogout = params.get("post_logout_redirect_uri") ?? undefined;
  if (postLogout !== undefined && !allowedReturn(config, postLogout)) {
    return errorPage(400, "Sign-out refused", "post_logout_redirect_uri is not on the origin of a registered redirect URI.");
  }
  let returnTo = postLogout;
  const state = params.get("state");
  if (returnTo !== undefined && state) {
    const url = new URL(returnTo);
    url.searchParams.set("state", state);
    returnTo = url.href;
  }
  const tenant = instanceId === undefined && tenantId === undefined ? undefined : await tenantToLeave(getDb(env), instanceId, tenantId);
  const base = tenant === undefined ? undefined : idpBase(tenant.domainName);
  if (base !== undefined) return redirectTo(logoutUrl(base, returnTo));
  // Nothing to sign out of at an IdP (the enterprise was unbound): the app's own sign-out still completes.
  if (returnTo !== undefined) return redirectTo(returnTo);
  return errorPage(200, "Signed out", "You are signed out.");
}
