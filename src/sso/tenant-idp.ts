import { z } from "zod";
import { isAllowedUrl } from "./sso-settings";

/*
 * The tenant's own OAuth2 IdP (spec saas-production-interface §6.6), at the `domainName` tenantSync gave:
 * authorize, token (form POST with the client secret), userinfo (Bearer), logout. Its tokens are used once here and
 * never stored or logged.
 */

const TIMEOUT_MS = 10_000;

/** The tenant IdP failed or answered something unusable. `detail` is for our log: never a token or secret. */
export class TenantIdpError extends Error {
  override readonly name = "TenantIdpError";
}

/** The IdP's base URL from a synced `domainName`: https, or http to a loopback host (local testing). */
export function idpBase(domainName: string): string | undefined {
  let url: URL;
  try {
    url = new URL(domainName.trim());
  } catch {
    return undefined;
  }
  if (!isAllowedUrl(url) || url.search || url.hash || url.username) return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

export function authorizeUrl(base: string, clientId: string, redirectUri: string, state: string): string {
  const params = new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: redirectUri, scope: "get_user_info", state });
  return `${base}/api/v1/oauth2/authorize?${params}`;
}

export function logoutUrl(base: string, redirectUrl: string | undefined): string {
  return redirectUrl === undefined ? `${base}/api/v1/logout` : `${base}/api/v1/logout?${new URLSearchParams({ redirect_url: redirectUrl })}`;
}

const TokenAnswer = z.object({ access_token: z.string().min(1) });

const UserInfo = z.object({
  userName: z.string().min(1),
  name: z.string().optional(),
  tenant: z.string().optional(),
  organizationCode: z.string().optional(),
  role: z.string().optional(),
  email: z.string().optional(),
});
export type TenantUserInfo = z.infer<typeof UserInfo>;

async function call(url: string, init: RequestInit, what: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "manual" });
  } catch (error) {
    throw new TenantIdpError(`${what}: no answer (${error instanceof Error ? error.name : "error"})`);
  }
  const body = await response.text();
  if (!response.ok) throw new TenantIdpError(`${what}: HTTP ${response.status}`);
  try {
    return JSON.parse(body);
  } catch {
    throw new TenantIdpError(`${what}: answer is not JSON`);
  }
}

/** Exchanges the IdP's code (§6.6 step 3) for its access token. */
export async function exchangeCode(
  base: string,
  client: { clientId: string; clientSecret: string },
  code: string,
  redirectUri: string,
): Promise<string> {
  const body = new URLSearchParams({ grant_type: "authorization_code", code, client_id: client.clientId, client_secret: client.clientSecret, redirect_uri: redirectUri });
  const answer = await call(`${base}/api/v1/oauth2/token`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" }, body }, "token");
  const parsed = TokenAnswer.safeParse(answer);
  if (!parsed.success) throw new TenantIdpError(`token: no access_token in the answer${errorCode(answer)}`);
  return parsed.data.access_token;
}

/** Reads the signed-in user (§6.6 step 4). */
export async function readUserInfo(base: string, accessToken: string): Promise<TenantUserInfo> {
  const answer = await call(`${base}/api/v1/oauth2/userinfo`, { headers: { Authorization: `Bearer ${accessToken}`, Accept: "application/json" } }, "userinfo");
  const parsed = UserInfo.safeParse(answer);
  if (!parsed.success) throw new TenantIdpError(`userinfo: no userName in the answer${errorCode(answer)}`);
  return parsed.data;
}

/** The IdP's `error` code, when it sent one (a short code, safe to log). */
function errorCode(answer: unknown): string {
  const code = typeof answer === "object" && answer !== null ? (answer as { error?: unknown }).error : undefined;
  return typeof code === "string" ? ` (error ${code.slice(0, 64)})` : "";
}
