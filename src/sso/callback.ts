import type { IRequest } from "itty-router";
import { getDb } from "../db/client";
import { log } from "../observability/log";
import { claimsOf } from "./claims";
import { digestOf, randomValue, stateIdHash } from "./one-time-values";
import { errorPage, redirectWith } from "./responses";
import { reloadTarget, userRefusal } from "./sign-in-target";
import type { SsoConfig } from "./sso-settings";
import { insertGrant, purgeSso, recordSignIn, useState } from "./sso.repo";
import { TenantIdpError, type TenantUserInfo, exchangeCode, idpBase, readUserInfo } from "./tenant-idp";
import { tenantClientSecret } from "./tenant-client-secret";

const STATE_REFUSALS = {
  invalid: "This sign-in link is not valid. Start again from the application.",
  unknown: "This sign-in link is not valid. Start again from the application.",
  expired: "This sign-in took too long and has expired. Start again from the application.",
  used: "This sign-in link was already used. Start again from the application.",
} as const;

/**
 * GET /oidc/callback: the tenant IdP sends the browser back here. Exchanges the IdP's code, reads the user, and sends
 * the browser back to the app with a one-time code of our own. The IdP's tokens live only inside this call.
 */
export async function callback(request: IRequest, env: Env, ctx: ExecutionContext, config: SsoConfig, now = Date.now()): Promise<Response> {
  const params = new URL(request.url).searchParams;
  const db = getDb(env);
  const idHash = stateIdHash(config.dataKey, params.get("state") ?? "");
  if (idHash === undefined) return errorPage(400, "Sign-in refused", STATE_REFUSALS.invalid);
  const use = await useState(db, idHash, now);
  if (!use.ok) {
    log("info", "sso.callback.state_refused", { reason: use.reason });
    return errorPage(400, "Sign-in refused", STATE_REFUSALS[use.reason]);
  }
  const state = use.state;
  // Clearing what expired costs the browser nothing, and keeps personal data no longer than needed between daily runs.
  // After the state was taken, so that the purge never races this sign-in's own lookup.
  ctx.waitUntil(purgeSso(db, now).catch((error: unknown) => log("warn", "sso.purge.failed", { detail: error instanceof Error ? error.message : String(error) })));
  const back = (params: Record<string, string | null | undefined>) =>
    redirectWith(state.redirectUri, { ...params, state: state.appState, iss: config.issuer });
  const refuse = (error: "access_denied" | "server_error", description: string) => back({ error, error_description: description });

  const idpError = params.get("error");
  const code = params.get("code");
  if (idpError !== null || code === null || code === "") {
    log("info", "sso.callback.idp_refused", { instanceId: state.instanceId, tenantId: state.tenantId, error: (idpError ?? "no code").slice(0, 64) });
    return refuse("access_denied", "the enterprise's sign-in did not complete");
  }
  const resolution = await reloadTarget(db, state.instanceId, { kitInstanceId: state.kitInstanceId, isTest: state.isTest, tenantId: state.tenantId, appId: state.appId });
  if (!resolution.ok) return refuse("access_denied", resolution.description);
  const { scope, tenant, app } = resolution.target;
  const base = idpBase(tenant.domainName);
  if (base === undefined) return refuse("access_denied", "the enterprise's sign-in address is not usable");

  let user: TenantUserInfo;
  try {
    const clientSecret = await tenantClientSecret(config.dataKey, app);
    const accessToken = await exchangeCode(base, { clientId: app.clientId, clientSecret }, code, config.callbackUrl);
    user = await readUserInfo(base, accessToken);
  } catch (error) {
    const detail = error instanceof TenantIdpError ? error.message : `${error instanceof Error ? error.name : "error"}`;
    log("warn", "sso.callback.idp_failed", { instanceId: scope.instanceId, tenantId: scope.tenantId, detail });
    return refuse("server_error", "the enterprise's sign-in service did not answer as expected");
  }
  // A user of another enterprise, through a misconfigured or shared IdP, must not get in as one of this tenant.
  if (user.tenant !== undefined && user.tenant !== "" && user.tenant !== scope.tenantId) {
    log("warn", "sso.callback.wrong_tenant", { instanceId: scope.instanceId, tenantId: scope.tenantId });
    return refuse("access_denied", "the user belongs to another enterprise");
  }
  const refusal = await userRefusal(db, app, user.userName);
  if (refusal !== undefined) {
    log("info", "sso.callback.user_refused", { instanceId: scope.instanceId, tenantId: scope.tenantId, reason: refusal });
    return refuse("access_denied", refusal);
  }
  const ourCode = randomValue();
  const claims = claimsOf(scope, user);
  await insertGrant(db, {
    codeHash: digestOf(ourCode),
    clientId: state.clientId,
    redirectUri: state.redirectUri,
    codeChallenge: state.codeChallenge,
    nonce: state.nonce,
    scope: state.scope,
    claims,
    authTime: now,
    now,
  });
  await recordSignIn(db, {
    instanceId: scope.instanceId,
    isTest: scope.isTest,
    tenantId: scope.tenantId,
    appId: scope.appId,
    userName: user.userName,
    role: claims.role,
    clientId: state.clientId,
    at: now,
  });
  log("info", "sso.signed_in", { instanceId: scope.instanceId, tenantId: scope.tenantId, appId: scope.appId });
  return back({ code: ourCode });
}
