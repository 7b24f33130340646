import { env, exports } from "cloudflare:workers";
import * as client from "openid-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fetchWith, kitNow, newKitScope, sendWith, signedKitV2Request } from "../support/kit";
import { callV2, createInstance, makeNewInstance, readAnswer, signedV2Request } from "../support/marketplace";
import {
  APP_CLIENT_ID,
  APP_CLIENT_SECRET,
  APP_REDIRECT,
  ISSUER,
  type SsoWorld,
  appClient,
  browse,
  callbackUrlFor,
  kitUser,
  purchaseWithTenant,
  ssoWorld,
  startSignIn,
  syncTenantAndApp,
} from "../support/sso";

/* Issue 20: each refusal of single sign-on, and what it must never do (redirect to an unregistered address). */

let world: SsoWorld;
let config: client.Configuration;
beforeEach(async () => {
  world = await ssoWorld();
  config = await appClient(world);
});
afterEach(() => vi.restoreAllMocks());

function tokenRequest(form: Record<string, string>, secret = APP_CLIENT_SECRET): Request {
  return new Request(`${ISSUER}/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: `Basic ${btoa(`${APP_CLIENT_ID}:${encodeURIComponent(secret)}`)}` },
    body: new URLSearchParams(form),
  });
}

/** A signed-in user's code at the app, with what the app needs to redeem it. */
async function codeFor(s: { instanceId: string }) {
  const session = await startSignIn(config, { instance_id: s.instanceId });
  const { location } = await browse(world, session.url, "bob");
  const code = location?.searchParams.get("code");
  if (!code) throw new Error(`no code: ${location}`);
  return { session, code, form: { grant_type: "authorization_code", code, redirect_uri: APP_REDIRECT, code_verifier: session.verifier } };
}

function expectBackToApp(location: URL | undefined, state: string, error = "access_denied") {
  expect(`${location?.origin}${location?.pathname}`).toBe(APP_REDIRECT);
  expect(location?.searchParams.get("error")).toBe(error);
  expect(location?.searchParams.get("state")).toBe(state);
  expect(location?.searchParams.get("code")).toBeNull();
}

describe("settings", () => {
  it("is off, every route 404, while OIDC_CLIENT_ID is unset", async () => {
    for (const path of ["/oidc/.well-known/openid-configuration", "/oidc/jwks", "/oidc/authorize", "/oidc/callback", "/oidc/userinfo", "/oidc/logout"]) {
      expect((await exports.default.fetch(new Request(`https://gateway.test${path}`))).status).toBe(404);
    }
    const health = await (await exports.default.fetch(new Request("https://gateway.test/admin/api/health", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }))).json();
    expect(health).toMatchObject({ sso: "off" });
  });

  it("a broken SSO setting disables SSO only: 503 on its routes, named in admin health, Marketplace callbacks unaffected", async () => {
    const broken = { ...world.vars, OIDC_SIGNING_KEY: "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----", PUBLIC_URL: "https://gateway.test" };
    expect((await fetchWith(new Request(`${ISSUER}/.well-known/openid-configuration`), broken)).status).toBe(503);
    const health = await (await fetchWith(new Request("https://gateway.test/admin/api/health", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }), broken)).json();
    expect(health).toMatchObject({ status: "degraded", settings: "ok", sso: { setting: "OIDC_SIGNING_KEY" } });
    expect(JSON.stringify(health)).not.toContain("not a key");
    const noPublicUrl = { ...world.vars, PUBLIC_URL: "" };
    const health2 = await (await fetchWith(new Request("https://gateway.test/admin/api/health", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }), noPublicUrl)).json();
    expect(health2).toMatchObject({ sso: { setting: "PUBLIC_URL" } });
    const answer = await readAnswer(await fetchWith(signedV2Request(makeNewInstance()), broken), env.SAAS_ACCESS_KEY);
    expect(answer.json.resultCode).toBe("000000");
  });
});

describe("authorize", () => {
  it("answers an unknown client or redirect URI with a 400 page, never a redirect", async () => {
    const s = await purchaseWithTenant(world);
    const session = await startSignIn(config, { instance_id: s.instanceId });
    for (const [name, value] of [["client_id", "someone-else"], ["redirect_uri", "https://evil.test/cb"], ["redirect_uri", `${APP_REDIRECT}/x`]] as const) {
      const url = new URL(session.url);
      url.searchParams.set(name, value);
      const response = await world.fetch(new Request(url));
      expect(response.status).toBe(400);
      expect(response.headers.get("location")).toBeNull();
    }
  });

  it("sends an unknown, frozen, released or failed purchase back to the app with access_denied and its state", async () => {
    const frozen = await purchaseWithTenant(world);
    await callV2({ activity: "updateInstanceStatus", instanceId: frozen.instanceId, status: "FREEZE" });
    const released = await purchaseWithTenant(world);
    await callV2({ activity: "releaseInstance", instanceId: released.instanceId });
    const failed = await purchaseWithTenant(world);
    // No callback fails an instance in builtin provisioning (webhook mode does): the state is set as the actor would.
    await env.DB.prepare("UPDATE instances SET status = 'failed' WHERE id = ?").bind(failed.instanceId).run();
    for (const instanceId of ["0123456789abcdef0123456789abcdef", frozen.instanceId, released.instanceId, failed.instanceId]) {
      const session = await startSignIn(config, { instance_id: instanceId });
      const { location } = await browse(world, session.url, "bob");
      expectBackToApp(location, session.state);
    }
    expect(world.idp.calls).toHaveLength(0);
  });

  it("refuses a purchase without a synced tenant, or with a tenant but no app", async () => {
    const { instanceId } = await createInstance();
    const bare = await startSignIn(config, { instance_id: instanceId });
    expectBackToApp((await browse(world, bare.url, "bob")).location, bare.state);
    const tenantOnly = { instanceId, tenantId: newKitScope().tenantId };
    const answer = await sendWith(
      signedKitV2Request("tenantSync", { instanceId, orderId: "CS1", tenantId: tenantOnly.tenantId, tenantCode: "c", name: "n", domainName: "https://idp.tenant.test", flag: 1, testFlag: 0, timeStamp: kitNow() }),
      world.vars,
      env.KIT_ACCESS_KEY,
    );
    expect(answer.json.resultCode).toBe("000000");
    const noApp = await startSignIn(config, { instance_id: instanceId });
    expectBackToApp((await browse(world, noApp.url, "bob")).location, noApp.state);
  });

  it("never calls a tenant IdP over plain http unless it is a loopback host", async () => {
    const { instanceId } = await createInstance();
    const s = { instanceId, tenantId: newKitScope().tenantId };
    await syncTenantAndApp(world, s);
    const tenantSync = { instanceId, orderId: "CS2", tenantId: s.tenantId, tenantCode: "c", name: "n", domainName: "http://idp.tenant.test", flag: 2, testFlag: 0, timeStamp: kitNow() };
    expect((await sendWith(signedKitV2Request("tenantSync", tenantSync), world.vars, env.KIT_ACCESS_KEY)).json.resultCode).toBe("000000");
    const session = await startSignIn(config, { instance_id: instanceId });
    expectBackToApp((await browse(world, session.url, "bob")).location, session.state);
    expect(world.idp.calls).toHaveLength(0);
  });

  it("requires PKCE S256 and the openid scope", async () => {
    const s = await purchaseWithTenant(world);
    const session = await startSignIn(config, { instance_id: s.instanceId });
    const plain = new URL(session.url);
    plain.searchParams.set("code_challenge_method", "plain");
    expectBackToApp((await browse(world, plain, "bob")).location, session.state, "invalid_request");
    const noPkce = new URL(session.url);
    noPkce.searchParams.delete("code_challenge");
    expectBackToApp((await browse(world, noPkce, "bob")).location, session.state, "invalid_request");
    const noOpenid = new URL(session.url);
    noOpenid.searchParams.set("scope", "profile");
    expectBackToApp((await browse(world, noOpenid, "bob")).location, session.state, "invalid_scope");
  });
});

describe("callback", () => {
  it("refuses a user whose authorization authSync removed or revoked, back to the app with access_denied", async () => {
    const s = await purchaseWithTenant(world, [kitUser("alice"), kitUser("bob")]);
    const sync = async (flag: number, userName: string) => {
      const body = { instanceId: s.instanceId, tenantId: s.tenantId, appId: "app-1", userList: [kitUser(userName)], currentSyncTime: kitNow(), flag, testFlag: 0, timeStamp: kitNow() };
      expect((await sendWith(signedKitV2Request("authSync", body), world.vars, env.KIT_ACCESS_KEY)).json.resultCode).toBe("000000");
    };
    await sync(0, "alice");
    await sync(3, "bob");
    for (const userName of ["alice", "bob"]) {
      const session = await startSignIn(config, { instance_id: s.instanceId });
      expectBackToApp((await browse(world, session.url, userName)).location, session.state);
    }
    const signIns = await env.DB.prepare("SELECT COUNT(*) AS n FROM sso_sign_ins WHERE instance_id = ?").bind(s.instanceId).first<{ n: number }>();
    expect(signIns?.n).toBe(0);
  });

  it("refuses a user the IdP says belongs to another tenant", async () => {
    vi.restoreAllMocks();
    world = await ssoWorld({ tenantOverride: "SOMEONE-ELSE" });
    config = await appClient(world);
    const s = await purchaseWithTenant(world);
    const session = await startSignIn(config, { instance_id: s.instanceId });
    expectBackToApp((await browse(world, session.url, "bob")).location, session.state);
  });

  it("refuses a tampered, a reused and an expired state with a 400 page", async () => {
    const s = await purchaseWithTenant(world);
    const session = await startSignIn(config, { instance_id: s.instanceId });
    const callback = new URL(await callbackUrlFor(world, session.url, "bob"));
    const tampered = new URL(callback);
    const state = tampered.searchParams.get("state") ?? "";
    tampered.searchParams.set("state", `${state.slice(0, 10)}${state[10] === "A" ? "B" : "A"}${state.slice(11)}`);
    const refusedTampered = await world.fetch(new Request(tampered));
    expect(refusedTampered.status).toBe(400);
    expect(refusedTampered.headers.get("location")).toBeNull();

    expect((await world.fetch(new Request(callback))).status).toBe(302);
    const reused = await world.fetch(new Request(callback));
    expect(reused.status).toBe(400);
    expect(await reused.text()).toContain("already used");

    const late = await startSignIn(config, { instance_id: s.instanceId });
    const lateCallback = await callbackUrlFor(world, late.url, "bob");
    await env.DB.prepare("UPDATE oidc_states SET expires_at = 1 WHERE used_at IS NULL").run();
    const expired = await world.fetch(new Request(lateCallback));
    expect(expired.status).toBe(400);
    expect(await expired.text()).toContain("expired");
  });

  it("sends the browser back with server_error when the tenant IdP fails, storing no sign-in", async () => {
    const s = await purchaseWithTenant(world);
    world.idp.failNextToken(502);
    const session = await startSignIn(config, { instance_id: s.instanceId });
    expectBackToApp((await browse(world, session.url, "bob")).location, session.state, "server_error");
  });
});

describe("token", () => {
  it("answers a reused code with invalid_grant and revokes the access token it issued", async () => {
    const s = await purchaseWithTenant(world);
    const { form } = await codeFor(s);
    const first = await world.fetch(tokenRequest(form));
    expect(first.status).toBe(200);
    const { access_token } = await first.json<{ access_token: string }>();
    const userinfo = () => world.fetch(new Request(`${ISSUER}/userinfo`, { headers: { Authorization: `Bearer ${access_token}` } }));
    expect((await userinfo()).status).toBe(200);
    const second = await world.fetch(tokenRequest(form));
    expect(second.status).toBe(400);
    expect(await second.json()).toMatchObject({ error: "invalid_grant" });
    expect((await userinfo()).status).toBe(401);
  });

  it("lets exactly one of two concurrent exchanges of one code through", async () => {
    const s = await purchaseWithTenant(world);
    const { form } = await codeFor(s);
    const answers = await Promise.all([world.fetch(tokenRequest(form)), world.fetch(tokenRequest(form))]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400]);
  });

  it("answers a wrong PKCE verifier with invalid_grant, and the code stays good for its holder", async () => {
    const s = await purchaseWithTenant(world);
    const { form } = await codeFor(s);
    const wrong = await world.fetch(tokenRequest({ ...form, code_verifier: client.randomPKCECodeVerifier() }));
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: "invalid_grant" });
    expect((await world.fetch(tokenRequest({ ...form, redirect_uri: "https://app.test/other" }))).status).toBe(400);
    expect((await world.fetch(tokenRequest(form))).status).toBe(200);
  });

  it("answers a wrong client secret with 401 invalid_client, basic or post", async () => {
    const s = await purchaseWithTenant(world);
    const { form } = await codeFor(s);
    const basic = await world.fetch(tokenRequest(form, "wrong-secret-wrong-secret-wrong-secret"));
    expect(basic.status).toBe(401);
    expect(await basic.json()).toMatchObject({ error: "invalid_client" });
    const post = await world.fetch(
      new Request(`${ISSUER}/token`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...form, client_id: APP_CLIENT_ID, client_secret: "nope" }),
      }),
    );
    expect(post.status).toBe(401);
    // The code was not spent on the failed attempts.
    expect((await world.fetch(tokenRequest(form))).status).toBe(200);
  });
});

describe("userinfo and logout", () => {
  it("refuses an unknown access token", async () => {
    const response = await world.fetch(new Request(`${ISSUER}/userinfo`, { headers: { Authorization: "Bearer nope" } }));
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain("invalid_token");
  });

  it("refuses a return address off the registered origins, and accepts instance_id instead of a hint", async () => {
    const s = await purchaseWithTenant(world);
    const foreign = await world.fetch(new Request(`${ISSUER}/logout?${new URLSearchParams({ instance_id: s.instanceId, post_logout_redirect_uri: "https://evil.test/" })}`));
    expect(foreign.status).toBe(400);
    expect(foreign.headers.get("location")).toBeNull();
    const ok = await world.fetch(new Request(`${ISSUER}/logout?${new URLSearchParams({ instance_id: s.instanceId, post_logout_redirect_uri: "https://app.test/bye" })}`));
    expect(ok.status).toBe(302);
    expect(ok.headers.get("location")).toBe(`https://idp.tenant.test/t/${s.tenantId}/api/v1/logout?redirect_url=${encodeURIComponent("https://app.test/bye")}`);
  });
});
