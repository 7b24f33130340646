import type { IRequest } from "itty-router";
import { getDb } from "../db/client";
import { log } from "../observability/log";
import { newState } from "./one-time-values";
import { errorPage, redirectTo, redirectWith } from "./responses";
import { resolveTarget } from "./sign-in-target";
import type { SsoConfig } from "./sso-settings";
import { STATE_TTL_MS, insertState } from "./sso.repo";
import { authorizeUrl, idpBase } from "./tenant-idp";

const PKCE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const MAX_PARAM = 512;

/**
 * GET /oidc/authorize: checks the app's request, finds the purchase's tenant IdP and sends the browser there. Until
 * client and redirect URI are known good, every problem is a page (never a redirect: RFC 6749 §4.1.2.1); after that,
 * problems go back to the app with `error` and its `state`.
 */
export async function authorize(request: IRequest, env: Env, config: SsoConfig, now = Date.now()): Promise<Response> {
  const params = new URL(request.url).searchParams;
  const one = (name: string): string | undefined => {
    const values = params.getAll(name);
    return values.length === 1 && values[0] !== "" ? values[0] : undefined;
  };
  if (one("client_id") !== config.clientId) return errorPage(400, "Sign-in refused", "Unknown client_id.");
  const redirectUri = one("redirect_uri");
  if (redirectUri === undefined || !config.redirectUris.includes(redirectUri)) {
    return errorPage(400, "Sign-in refused", "redirect_uri is not registered for this client.");
  }
  const appState = one("state");
  const back = (error: string, description: string) =>
    redirectWith(redirectUri, { error, error_description: description, state: appState, iss: config.issuer });
  for (const name of ["client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "instance_id", "tenant_id", "app_id"]) {
    if (params.getAll(name).length > 1) return back("invalid_request", `${name} is repeated`);
  }
  for (const [name, value] of params) if (value.length > MAX_PARAM) return back("invalid_request", `${name} is too long`);
  if (params.has("request") || params.has("request_uri")) return back("request_not_supported", "request objects are not supported");
  if (one("response_type") !== "code") return back("unsupported_response_type", "response_type must be code");
  const scope = one("scope") ?? "";
  if (!scope.split(" ").includes("openid")) return back("invalid_scope", "scope must include openid");
  const challenge = one("code_challenge");
  if (challenge === undefined || one("code_challenge_method") !== "S256" || !PKCE_CHALLENGE.test(challenge)) {
    return back("invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256");
  }
  const db = getDb(env);
  const instanceId = one("instance_id");
  const resolution = await resolveTarget(db, { instanceId, tenantId: one("tenant_id"), appId: one("app_id") });
  if (!resolution.ok) {
    log("info", "sso.authorize.refused", { instanceId: instanceId ?? null, reason: resolution.description });
    return back(resolution.error, resolution.description);
  }
  const { scope: target, tenant, app } = resolution.target;
  const base = idpBase(tenant.domainName);
  if (base === undefined) {
    log("warn", "sso.authorize.bad_domain", { instanceId: target.instanceId, tenantId: target.tenantId });
    return back("access_denied", "the enterprise's sign-in address is not usable (https:// required)");
  }
  const { state, idHash } = newState(config.dataKey);
  await insertState(db, {
    idHash,
    clientId: config.clientId,
    redirectUri,
    appState: appState ?? null,
    nonce: one("nonce") ?? null,
    codeChallenge: challenge,
    scope,
    instanceId: target.instanceId,
    kitInstanceId: tenant.instanceId,
    isTest: target.isTest,
    tenantId: target.tenantId,
    appId: target.appId,
    expiresAt: now + STATE_TTL_MS,
    createdAt: now,
  });
  return redirectTo(authorizeUrl(base, app.clientId, config.callbackUrl, state));
}
