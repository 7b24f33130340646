import { env } from "cloudflare:workers";
import * as client from "openid-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { newKitScope } from "../support/kit";
import { createInstance } from "../support/marketplace";
import { APP_REDIRECT, ISSUER, type SsoWorld, TENANT_CLIENT, appClient, browse, kitUser, purchaseWithTenant, ssoWorld, startSignIn, syncTenantAndApp } from "../support/sso";

/*
 * Issue 20: the gateway as the OpenID Provider of the seller's app, in front of the tenant's OAuth2 IdP (spec §6.6).
 * The app is openid-client, a certified relying-party library running here in workerd: discovery, PKCE, state,
 * nonce, `iss` in the authorization response (RFC 9207), id_token signature and claims, userinfo.
 */

let world: SsoWorld;
beforeEach(async () => {
  world = await ssoWorld();
});
afterEach(() => vi.restoreAllMocks());

describe("single sign-on with openid-client as the app", () => {
  it("signs a user of the purchase's tenant in: discovery, PKCE, id_token, userinfo, timeline", async () => {
    const s = await purchaseWithTenant(world, [kitUser("alice", { role: "admin" })]);
    const config = await appClient(world);
    expect(config.serverMetadata()).toMatchObject({ issuer: ISSUER, code_challenge_methods_supported: ["S256"], id_token_signing_alg_values_supported: ["RS256"] });

    const session = await startSignIn(config, { instance_id: s.instanceId });
    const { location } = await browse(world, session.url, "alice");
    expect(location?.origin + (location?.pathname ?? "")).toBe(APP_REDIRECT);

    const tokens = await client.authorizationCodeGrant(config, location as URL, {
      pkceCodeVerifier: session.verifier,
      expectedState: session.state,
      expectedNonce: session.nonce,
      idTokenExpected: true,
    });
    expect(tokens).toMatchObject({ token_type: "bearer", expires_in: 3600, scope: "openid profile email" });
    const claims = tokens.claims();
    // The same user claims in the id_token and at userinfo.
    const alice = {
      sub: `${s.tenantId}:alice`,
      name: "Alice Admin",
      preferred_username: "alice",
      email: "alice@example.com",
      instance_id: s.instanceId,
      tenant_id: s.tenantId,
      role: "admin",
      organization_code: "ORG-1",
    };
    expect(claims).toMatchObject({ iss: ISSUER, aud: "seller-app", nonce: session.nonce, ...alice });
    expect(claims?.test).toBeUndefined();
    expect(typeof claims?.auth_time).toBe("number");

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, `${s.tenantId}:alice`);
    expect(userinfo).toEqual(alice);

    // The tenant IdP was asked with the synced client, our callback and scope get_user_info; its secret matched.
    expect(world.idp.calls.find((call) => call.endpoint === "login")).toMatchObject({ clientId: TENANT_CLIENT.id, redirectUri: `${ISSUER}/callback`, scope: "get_user_info", tenant: s.tenantId });
    expect(world.idp.calls.find((call) => call.endpoint === "token")).toMatchObject({ secretMatched: true, redirectUri: `${ISSUER}/callback` });

    // The sign-in is on the instance's timeline: who and when, no token.
    const timeline = await (await world.fetch(new Request(`https://gateway.test/admin/api/instances/${s.instanceId}/timeline`, { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }))).json<{ entries: Array<Record<string, unknown>> }>();
    const signIn = timeline.entries.find((entry) => entry.kind === "signIn");
    expect(signIn).toMatchObject({ userName: "alice", role: "admin", tenantId: s.tenantId, appId: "app-1", test: false });
    expect(JSON.stringify(timeline)).not.toContain(tokens.access_token);
  });

  it("works with client_secret_post and a user without e-mail", async () => {
    const s = await purchaseWithTenant(world);
    const config = await appClient(world);
    const post = new client.Configuration(config.serverMetadata(), "seller-app", "test-oidc-client-secret-0123456789abcdef", client.ClientSecretPost("test-oidc-client-secret-0123456789abcdef"));
    const customFetch = config[client.customFetch];
    if (customFetch) post[client.customFetch] = customFetch;
    const session = await startSignIn(post, { instance_id: s.instanceId });
    const { location } = await browse(world, session.url, "bob");
    const tokens = await client.authorizationCodeGrant(post, location as URL, { pkceCodeVerifier: session.verifier, expectedState: session.state, expectedNonce: session.nonce });
    const claims = tokens.claims();
    expect(claims).toMatchObject({ sub: `${s.tenantId}:bob`, role: "user", organization_code: "ORG-2" });
    expect(claims?.email).toBeUndefined();
  });

  it("signs in the Marketplace's test enterprise by tenant_id, and a debug purchase through it, with test: true", async () => {
    const testEnterprise = { instanceId: "", tenantId: newKitScope().tenantId };
    await syncTenantAndApp(world, testEnterprise, { testFlag: 1 });
    const config = await appClient(world);

    const byTenant = await startSignIn(config, { tenant_id: testEnterprise.tenantId });
    const first = await browse(world, byTenant.url, "bob");
    const tokens = await client.authorizationCodeGrant(config, first.location as URL, { pkceCodeVerifier: byTenant.verifier, expectedState: byTenant.state, expectedNonce: byTenant.nonce });
    expect(tokens.claims()).toMatchObject({ sub: `${testEnterprise.tenantId}:bob`, tenant_id: testEnterprise.tenantId, test: true });
    expect(tokens.claims()?.instance_id).toBeUndefined();

    const { instanceId } = await createInstance({ testFlag: "1" });
    const debug = await startSignIn(config, { instance_id: instanceId, tenant_id: testEnterprise.tenantId });
    const second = await browse(world, debug.url, "alice");
    const debugTokens = await client.authorizationCodeGrant(config, second.location as URL, { pkceCodeVerifier: debug.verifier, expectedState: debug.state, expectedNonce: debug.nonce });
    expect(debugTokens.claims()).toMatchObject({ instance_id: instanceId, tenant_id: testEnterprise.tenantId, test: true });
  });

  it("picks the app by app_id when a tenant synced several", async () => {
    const s = await purchaseWithTenant(world);
    await syncTenantAndApp(world, s, { appId: "app-2" });
    const config = await appClient(world);
    const without = await startSignIn(config, { instance_id: s.instanceId });
    const refused = await browse(world, without.url, "bob");
    expect(refused.location?.searchParams.get("error")).toBe("access_denied");
    const withApp = await startSignIn(config, { instance_id: s.instanceId, app_id: "app-2" });
    const { location } = await browse(world, withApp.url, "bob");
    expect(location?.searchParams.get("code")).toBeTruthy();
  });

  it("publishes the previous key in the JWKS after a rotation, and verifies an id_token_hint signed with it", async () => {
    const s = await purchaseWithTenant(world);
    const config = await appClient(world);
    const session = await startSignIn(config, { instance_id: s.instanceId });
    const { location } = await browse(world, session.url, "bob");
    const tokens = await client.authorizationCodeGrant(config, location as URL, { pkceCodeVerifier: session.verifier, expectedState: session.state, expectedNonce: session.nonce });
    const oldKid = JSON.parse(Buffer.from((tokens.id_token ?? "").split(".")[0] ?? "", "base64url").toString()).kid as string;

    const { makeSigningKey } = await import("../support/sso");
    const next = await makeSigningKey();
    const { createPublicKey } = await import("node:crypto");
    const oldPublic = createPublicKey(world.vars.OIDC_SIGNING_KEY ?? "").export({ format: "pem", type: "spki" }).toString();
    world.vars.OIDC_SIGNING_KEY = next.privatePem;
    world.vars.OIDC_PREVIOUS_PUBLIC_KEY = oldPublic;
    const jwks = await (await world.fetch(new Request(`${ISSUER}/jwks`))).json<{ keys: Array<{ kid: string; alg: string; kty: string }> }>();
    expect(jwks.keys).toHaveLength(2);
    expect(jwks.keys[1]).toMatchObject({ kid: oldKid, alg: "RS256", kty: "RSA" });
    expect(jwks.keys[0]?.kid).not.toBe(oldKid);

    const out = await world.fetch(new Request(`${ISSUER}/logout?${new URLSearchParams({ id_token_hint: tokens.id_token ?? "", post_logout_redirect_uri: "https://app.test/signed-out", state: "s1" })}`));
    expect(out.status).toBe(302);
    const toIdp = new URL(out.headers.get("location") ?? "");
    expect(`${toIdp.origin}${toIdp.pathname}`).toBe(`https://idp.tenant.test/t/${s.tenantId}/api/v1/logout`);
    expect(toIdp.searchParams.get("redirect_url")).toBe("https://app.test/signed-out?state=s1");
  });
});
