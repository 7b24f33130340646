import * as client from "openid-client";
import { DEFAULT_CLIENT, DEFAULT_USERS } from "../../fake-idp/fake-idp";
import { kitTimeStamp, kitV2Call, send, v2Call } from "../client";
import type { Context } from "../framework";
import { businessId, debugOrderId, hex } from "../ids";
import { secretEncrypter } from "./kit";

/**
 * Single sign-on end to end (README "Sign-in for joint-operation products"): a debug purchase, its tenant synced with
 * the fake tenant IdP (`npm run fake:idp`) as its `domainName`, its app with the fake's client, its users; then the
 * seller's app (openid-client) and a browser (plain fetch, following each redirect by hand) sign alice in, and the
 * id_token and userinfo are checked. The purchase and its kit rows stay, so the seller can sign in again by hand.
 * FAKE_IDP_URL (default http://127.0.0.1:8792) says where the fake IdP listens.
 */
export async function ssoSuite(ctx: Context): Promise<void> {
  const sso = ctx.settings.sso;
  if (!sso) return ctx.skip("sso", "single sign-on", "OIDC_CLIENT_ID is not set: single sign-on is off (README \"Sign-in for joint-operation products\")");
  const encrypt = secretEncrypter(ctx.settings.kitRsaPrivateKey);
  if (!encrypt) return ctx.skip("sso", "single sign-on", "KIT_RSA_PRIVATE_KEY is not set: no public key to encrypt the tenant app's clientSecret with");
  const idp = (process.env.FAKE_IDP_URL ?? "http://127.0.0.1:8792").replace(/\/+$/, "");
  const check = async (name: string, run: () => Promise<string[]>) => {
    const started = Date.now();
    let problems: string[];
    try {
      problems = await run();
    } catch (error) {
      problems = [error instanceof Error ? `${error.name}: ${error.message}` : String(error)];
    }
    ctx.record("sso", name, problems, null, null, Date.now() - started);
    return problems.length === 0;
  };

  if (!(await check("fake tenant IdP reachable", async () => ((await fetch(`${idp}/`).catch(() => undefined)) ? [] : [`nothing answers at ${idp}: start it with npm run fake:idp`])))) return;

  // A debug purchase, and its tenant and app as the Marketplace syncs them when the buyer binds an enterprise.
  const orderId = debugOrderId("CSSSO");
  const created = await send(v2Call(ctx.base, "/saas", ctx.settings.keys.saas, { activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: businessId(), testFlag: "1" }));
  const instanceId = typeof created.json?.instanceId === "string" ? created.json.instanceId : "";
  if (!(await check("debug purchase created", async () => (instanceId ? [] : [`newInstance answered ${created.text.slice(0, 120)}`])))) return;
  const tenantId = `TSSO${hex(6)}`;
  const key = ctx.settings.keys.kit;
  const kit = (name: string, fields: object) => send(kitV2Call(ctx.base, name, key, { instanceId, tenantId, ...fields, testFlag: 1, timeStamp: kitTimeStamp() }));
  const synced = await check("tenant, app and users synced with the fake IdP", async () => {
    const answers = [
      await kit("tenantSync", { orderId, tenantCode: `code-${tenantId}`, name: "SSO Demo Co.", domainName: `${idp}/t/${tenantId}`, flag: 1 }),
      await kit("applicationSync", { appId: "sso-demo-app", clientId: DEFAULT_CLIENT.id, clientSecret: encrypt(DEFAULT_CLIENT.secret), flag: 1 }),
      await kit("authSync", {
        appId: "sso-demo-app",
        userList: DEFAULT_USERS.map((user) => ({ userName: user.userName, name: user.name, orgCode: user.organizationCode, role: user.role, enable: "true", email: user.email })),
        currentSyncTime: kitTimeStamp(),
        flag: 1,
      }),
    ];
    return answers.filter((answer) => answer.json?.resultCode !== "000000").map((answer) => `sync answered ${answer.text.slice(0, 120)}`);
  });
  if (!synced) return;

  // The seller's app: discovery at PUBLIC_URL/oidc, PKCE, state and nonce, as any OIDC library does it.
  const issuer = `${sso.publicUrl}/oidc`;
  const insecure = issuer.startsWith("http://") ? { execute: [client.allowInsecureRequests] } : {};
  let config: client.Configuration | undefined;
  if (!(await check("discovery (openid-client)", async () => {
    config = await client.discovery(new URL(issuer), sso.clientId, sso.clientSecret, undefined, insecure);
    return [];
  })) || !config) return;
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizeUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: sso.redirectUri,
    scope: "openid profile email",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
    instance_id: instanceId,
  });

  // The browser: gateway → fake IdP (alice picks herself) → gateway callback → the app's redirect URI.
  let landing: URL | undefined;
  await check("browser: authorize → tenant IdP → callback → app", async () => {
    const toIdp = (await fetch(authorizeUrl, { redirect: "manual" })).headers.get("location") ?? "";
    if (!toIdp.startsWith(idp)) return [`authorize sent the browser to ${toIdp.slice(0, 120) || "nowhere"}, not to the fake IdP`];
    const idpUrl = new URL(toIdp);
    const form = new URLSearchParams(idpUrl.searchParams);
    form.set("userName", "alice");
    const toCallback = (await fetch(`${idpUrl.origin}${idpUrl.pathname}`, { method: "POST", body: form, redirect: "manual" })).headers.get("location") ?? "";
    const toApp = (await fetch(toCallback, { redirect: "manual" })).headers.get("location") ?? "";
    landing = toApp ? new URL(toApp) : undefined;
    if (!landing?.searchParams.get("code")) return [`the callback sent the browser to ${toApp.slice(0, 160) || "nowhere"}`];
    return [];
  });
  if (!landing) return;
  const callbackUrl = landing;
  let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers | undefined;
  await check("token: id_token validated, claims of alice", async () => {
    tokens = await client.authorizationCodeGrant(config as client.Configuration, callbackUrl, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
    const claims = tokens.claims();
    const want = { sub: `${tenantId}:alice`, preferred_username: "alice", role: "admin", instance_id: instanceId, tenant_id: tenantId, test: true };
    ctx.say(`     id_token claims: ${JSON.stringify(claims)}`);
    return Object.entries(want).filter(([name, value]) => claims?.[name] !== value).map(([name, value]) => `${name} is ${JSON.stringify(claims?.[name])}, expected ${JSON.stringify(value)}`);
  });
  await check("userinfo", async () => {
    if (!tokens) return ["no tokens"];
    const info = await client.fetchUserInfo(config as client.Configuration, tokens.access_token, `${tenantId}:alice`);
    return info.email === "alice@example.com" ? [] : [`userinfo email is ${JSON.stringify(info.email)}`];
  });
  await check("a reused code is refused", async () => {
    try {
      await client.authorizationCodeGrant(config as client.Configuration, callbackUrl, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
      return ["the second exchange of the code succeeded"];
    } catch (error) {
      return error instanceof client.ResponseBodyError && error.error === "invalid_grant" ? [] : [`refused with ${error instanceof Error ? error.message : String(error)}`];
    }
  });
  ctx.next(`single sign-on of debug purchase ${instanceId} (tenant ${tenantId}, fake IdP users alice and bob): your app starts it at ${issuer}/authorize?…&instance_id=${instanceId}; the sign-in is on its timeline: curl -H "Authorization: Bearer $ADMIN_TOKEN" '${ctx.base}/admin/api/instances/${instanceId}/timeline'`);
}
