import { env } from "cloudflare:workers";
import * as client from "openid-client";
import { vi } from "vitest";
import { type FakeIdp, type FakeIdpOptions, createFakeIdp } from "../../tools/fake-idp/fake-idp";
import { type EnvOverrides, type KitTestScope, type SellerRsaKey, fetchWith, kitNow, kitUser, makeSellerRsaKey, newKitScope, sendWith, signedKitV2Request, tenantBody } from "./kit";
import { createInstance } from "./marketplace";

/*
 * Single sign-on tests: the Worker with SSO settings laid over the test bindings, a fake tenant IdP (the same one as
 * `npm run fake:idp`) behind the Worker's outbound fetch, and openid-client as the seller's app.
 */

export const PUBLIC_URL = "https://gateway.test";
export const ISSUER = `${PUBLIC_URL}/oidc`;
export const APP_CLIENT_ID = "seller-app";
export const APP_CLIENT_SECRET = "test-oidc-client-secret-0123456789abcdef";
export const APP_REDIRECT = "https://app.test/auth/callback";
export const IDP_ORIGIN = "https://idp.tenant.test";
export const TENANT_CLIENT = { id: "tenant-client-1", secret: "tenant-app-secret-for-sso" };

async function pem(key: CryptoKey, format: "pkcs8" | "spki"): Promise<string> {
  const der = Buffer.from((await crypto.subtle.exportKey(format, key)) as ArrayBuffer).toString("base64");
  const label = format === "pkcs8" ? "PRIVATE KEY" : "PUBLIC KEY";
  return `-----BEGIN ${label}-----\n${(der.match(/.{1,64}/g) ?? []).join("\n")}\n-----END ${label}-----\n`;
}

/** An RS256 key pair made with WebCrypto: the private PEM for OIDC_SIGNING_KEY, the public one for a rotation. */
export async function makeSigningKey(bits = 2048): Promise<{ privatePem: string; publicPem: string }> {
  const pair = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  return { privatePem: await pem(pair.privateKey, "pkcs8"), publicPem: await pem(pair.publicKey, "spki") };
}

export interface SsoWorld {
  vars: EnvOverrides;
  rsa: SellerRsaKey;
  idp: FakeIdp;
  /** The Worker as the browser and the app reach it. */
  fetch(request: Request): Promise<Response>;
}

export async function ssoWorld(idpOptions: Partial<FakeIdpOptions> = {}): Promise<SsoWorld> {
  const rsa = await makeSellerRsaKey();
  const key = await makeSigningKey();
  const vars: EnvOverrides = {
    PUBLIC_URL,
    OIDC_CLIENT_ID: APP_CLIENT_ID,
    OIDC_CLIENT_SECRET: APP_CLIENT_SECRET,
    OIDC_REDIRECT_URIS: `${APP_REDIRECT},https://app.test/other`,
    OIDC_SIGNING_KEY: key.privatePem,
    KIT_RSA_PRIVATE_KEY: rsa.pem,
  };
  const idp = createFakeIdp({
    clients: { [TENANT_CLIENT.id]: TENANT_CLIENT.secret },
    users: [
      { userName: "alice", name: "Alice Admin", organizationCode: "ORG-1", role: "admin", email: "alice@example.com" },
      { userName: "bob", name: "Bob User", organizationCode: "ORG-2", role: "user" },
    ],
    ...idpOptions,
  });
  // The tenant IdP is the outside world: the Worker's outbound calls to it land in the fake.
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (request.url.startsWith(IDP_ORIGIN)) return idp.handle(request);
    return realFetch(request);
  });
  return { vars, rsa, idp, fetch: (request) => fetchWith(request, vars) };
}

/** The IdP base a tenant is synced with: the fake serves each tenant under /t/<tenantId>. */
export const idpDomain = (tenantId: string) => `${IDP_ORIGIN}/t/${tenantId}`;

/** tenantSync + applicationSync (+ authSync of `users`) for a scope, as the Marketplace sends them. */
/** A real purchase whose tenant and app (and `users`, when given) are synced: someone who can sign in. */
export async function purchaseWithTenant(world: SsoWorld, users?: unknown[]): Promise<KitTestScope> {
  const { instanceId } = await createInstance();
  const s = { instanceId, tenantId: newKitScope().tenantId };
  await syncTenantAndApp(world, s, { users });
  return s;
}

export async function syncTenantAndApp(world: SsoWorld, s: KitTestScope, options: { testFlag?: 0 | 1; appId?: string; users?: unknown[] } = {}): Promise<void> {
  const testFlag = options.testFlag ?? 0;
  const kit = async (name: string, body: object) => {
    const answer = await sendWith(signedKitV2Request(name, body), world.vars, env.KIT_ACCESS_KEY);
    if (answer.json.resultCode !== "000000") throw new Error(`${name} failed: ${answer.text}`);
  };
  await kit("tenantSync", tenantBody(s, { domainName: idpDomain(s.tenantId), testFlag }));
  await kit("applicationSync", {
    instanceId: s.instanceId,
    tenantId: s.tenantId,
    appId: options.appId ?? "app-1",
    clientId: TENANT_CLIENT.id,
    clientSecret: await world.rsa.encrypt(TENANT_CLIENT.secret),
    flag: 1,
    testFlag,
    timeStamp: kitNow(),
  });
  if (options.users) {
    await kit("authSync", { instanceId: s.instanceId, tenantId: s.tenantId, appId: options.appId ?? "app-1", userList: options.users, currentSyncTime: kitNow(), flag: 1, testFlag, timeStamp: kitNow() });
  }
}

export { kitUser };

/** openid-client, configured by discovery against the Worker (its requests go to the Worker, not the network). */
export async function appClient(world: SsoWorld, secret = APP_CLIENT_SECRET): Promise<client.Configuration> {
  const customFetch: client.CustomFetch = (url, options) =>
    world.fetch(new Request(url, { method: options.method, headers: options.headers as HeadersInit, body: options.body as BodyInit | null, redirect: "manual" }));
  const config = await client.discovery(new URL(ISSUER), APP_CLIENT_ID, secret, undefined, { [client.customFetch]: customFetch });
  config[client.customFetch] = customFetch;
  return config;
}

export interface AppSession {
  verifier: string;
  state: string;
  nonce: string;
  url: URL;
}

export async function startSignIn(config: client.Configuration, extra: Record<string, string>): Promise<AppSession> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: APP_REDIRECT,
    scope: "openid profile email",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
    ...extra,
  });
  return { verifier, state, nonce, url };
}

/**
 * The browser's part: our authorize → the tenant IdP's login (the user picks `userName`) → our callback → the app.
 * Returns where the browser ends (the app's redirect URI with code or error), or the response that stopped it.
 */
export async function browse(world: SsoWorld, authorizeUrl: URL, userName: string): Promise<{ location?: URL; response: Response }> {
  const first = await world.fetch(new Request(authorizeUrl));
  const toIdp = first.headers.get("location");
  if (first.status !== 302 || !toIdp || !toIdp.startsWith(IDP_ORIGIN)) return { location: toIdp ? new URL(toIdp) : undefined, response: first };
  const idpUrl = new URL(toIdp);
  const form = new URLSearchParams(idpUrl.searchParams);
  form.set("userName", userName);
  const login = await world.idp.handle(new Request(`${idpUrl.origin}${idpUrl.pathname}`, { method: "POST", body: form, headers: { "Content-Type": "application/x-www-form-urlencoded" } }));
  const toCallback = login.headers.get("location");
  if (!toCallback) throw new Error(`fake IdP did not redirect: ${login.status}`);
  const last = await world.fetch(new Request(toCallback));
  const toApp = last.headers.get("location");
  return { location: toApp ? new URL(toApp) : undefined, response: last };
}

/** Up to the IdP's redirect to our callback (for tests of the callback itself). */
export async function callbackUrlFor(world: SsoWorld, authorizeUrl: URL, userName: string): Promise<string> {
  const first = await world.fetch(new Request(authorizeUrl));
  const idpUrl = new URL(first.headers.get("location") ?? "");
  const form = new URLSearchParams(idpUrl.searchParams);
  form.set("userName", userName);
  const login = await world.idp.handle(new Request(`${idpUrl.origin}${idpUrl.pathname}`, { method: "POST", body: form, headers: { "Content-Type": "application/x-www-form-urlencoded" } }));
  return login.headers.get("location") ?? "";
}
