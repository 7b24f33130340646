import type { SsoClaimsRecord } from "../db/schema/sso";
import type { TenantUserInfo } from "./tenant-idp";
import type { SignInScope } from "./sign-in-target";

/** What the app learns of a user (docs/seller-contract.md, "Single sign-on"): the IdP's userinfo mapped to OIDC claims. */
export function claimsOf(scope: SignInScope, user: TenantUserInfo): SsoClaimsRecord {
  return {
    // userName is unique within its tenant only (spec §6.3): the tenant makes it unique across them.
    sub: `${scope.tenantId}:${user.userName}`,
    name: user.name && user.name !== "" ? user.name : user.userName,
    preferred_username: user.userName,
    ...(user.email ? { email: user.email } : {}),
    instance_id: scope.instanceId,
    tenant_id: scope.tenantId,
    role: user.role === "admin" ? "admin" : "user",
    organization_code: user.organizationCode ?? "",
    ...(scope.isTest || scope.instanceId === null ? { test: true as const } : {}),
  };
}

/** The claims as JSON gives them (id_token, userinfo): a purchase-less sign-in has no `instance_id` at all. */
export function publicClaims(claims: SsoClaimsRecord): Record<string, unknown> {
  const { instance_id, ...rest } = claims;
  return instance_id === null ? rest : { ...rest, instance_id };
}
