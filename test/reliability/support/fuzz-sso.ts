import fc from "fast-check";
import { APP_CLIENT_ID, APP_CLIENT_SECRET, APP_REDIRECT, type SsoWorld, appClient, browse, callbackUrlFor, kitUser, purchaseWithTenant, ssoWorld, startSignIn } from "../../support/sso";
import type { FuzzInterface } from "./fuzz-interfaces";
import { type CaseSpec, type Scheme, anyValue, extraHeaders, extraQuery, stringish } from "./fuzz-requests";

/*
 * Single sign-on's routes (/oidc/*), fuzzed with SSO configured (the SSO test world: its settings laid over the test
 * bindings, the fake tenant IdP behind the Worker's outbound fetch). Before the cases, a real purchase signs in a few
 * times, so the fuzzer holds live one-time values: states on their way back from the IdP, our codes with their PKCE
 * verifiers, access tokens and id_tokens. Cases draw on them (valid, mutated or random), so the single-use paths run:
 * a state or code used once works, used again is refused and leaves only its single-use bookkeeping behind.
 */

export interface SsoPool {
  world?: SsoWorld;
  instanceId: string;
  tenantId: string;
  /** `?state=…&code=…` as the tenant IdP sends the browser back to /oidc/callback. */
  callbacks: string[];
  /** Our codes, each with the verifier of its PKCE challenge. */
  codes: Array<{ code: string; verifier: string }>;
  accessTokens: string[];
  idTokens: string[];
}

export const emptySsoPool = (): SsoPool => ({ instanceId: "", tenantId: "", callbacks: [], codes: [], accessTokens: [], idTokens: [] });

/** Interfaces whose cases need the SSO world (the fuzz suite prepares it only for a share that has one). */
export const isSsoInterface = (fuzzed: FuzzInterface): boolean => fuzzed.name.startsWith("SSO ");

const SIGN_INS = 6;

/** The SSO world: a purchase whose tenant's IdP signs alice in. Once per test file. */
export async function prepareSso(pool: SsoPool): Promise<void> {
  const world = await ssoWorld();
  pool.world = world;
  const scope = await purchaseWithTenant(world, [kitUser("alice")]);
  pool.instanceId = scope.instanceId;
  pool.tenantId = scope.tenantId;
}

/**
 * Fresh one-time values from a few sign-ins, before each SSO interface: codes live a minute and states ten, so values
 * made when the file started would all be expired by the time a time-boxed run reaches the later interfaces.
 */
export async function freshSignIns(pool: SsoPool): Promise<void> {
  const world = pool.world;
  if (!world) throw new Error("the SSO world is not prepared");
  pool.callbacks.length = 0;
  pool.codes.length = 0;
  pool.accessTokens.length = 0;
  pool.idTokens.length = 0;
  const config = await appClient(world);
  for (let i = 0; i < SIGN_INS; i++) {
    const pending = await startSignIn(config, { instance_id: pool.instanceId });
    pool.callbacks.push(new URL(await callbackUrlFor(world, pending.url, "alice")).search);
    const session = await startSignIn(config, { instance_id: pool.instanceId });
    const code = (await browse(world, session.url, "alice")).location?.searchParams.get("code");
    if (!code) throw new Error("the SSO world's sign-in gave no code");
    // Half the codes stay unused for the fuzzer; the others are redeemed here for tokens.
    if (i % 2 === 0) {
      pool.codes.push({ code, verifier: session.verifier });
      continue;
    }
    const form = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: APP_REDIRECT, code_verifier: session.verifier, client_id: APP_CLIENT_ID, client_secret: APP_CLIENT_SECRET });
    const answer = await world.fetch(new Request("https://gateway.test/oidc/token", { method: "POST", body: form, headers: { "Content-Type": "application/x-www-form-urlencoded" } }));
    const tokens = (await answer.json()) as { access_token?: string; id_token?: string };
    if (!tokens.access_token || !tokens.id_token) throw new Error(`the SSO world's token exchange failed: ${answer.status}`);
    pool.accessTokens.push(tokens.access_token);
    pool.idTokens.push(tokens.id_token);
    // One redeemed code goes to the fuzzer: redeeming it again is the reuse the gateway must refuse, revoking what it
    // issued. The others' tokens stay valid for userinfo and logout.
    if (i === 1) pool.codes.push({ code, verifier: session.verifier });
  }
}

const pick = (values: () => string[]) => fc.nat().map((i) => values()[i % Math.max(values().length, 1)] ?? "none");

/** Parameter lists built from a valid one: kept, one dropped, replaced, added, or repeated. */
function mutatedParams(valid: fc.Arbitrary<Array<[string, string]>>): fc.Arbitrary<Array<[string, string]>> {
  return fc
    .tuple(valid, fc.constantFrom("keep", "keep", "delete", "replace", "replace", "add", "repeat"), fc.nat(), stringish.map(String), fc.string({ maxLength: 12 }))
    .map(([params, mutation, index, value, newKey]) => {
      const at = index % Math.max(params.length, 1);
      const [name] = params[at] ?? ["state"];
      switch (mutation) {
        case "delete":
          return params.filter((_, i) => i !== at);
        case "replace":
          return params.map(([k, v], i): [string, string] => (i === at ? [k, value] : [k, v]));
        case "add":
          return [...params, [newKey, value] as [string, string]];
        case "repeat":
          return [...params, [name, value] as [string, string]];
        default:
          return params;
      }
    });
}

/** A JSON value as query text (String() throws on fast-check's prototype-less objects). */
const asText = (value: unknown): string => (typeof value === "string" ? value : (JSON.stringify(value) ?? ""));

const challenge = fc.stringMatching(/^[A-Za-z0-9_-]{43}$/);

function ssoInterface(method: string, path: string, query: fc.Arbitrary<Array<[string, string]>>, options: { headers?: fc.Arbitrary<Array<[string, string]>>; body?: fc.Arbitrary<string | null> } = {}, via: Required<Pick<FuzzInterface, "send" | "prepare">>): FuzzInterface {
  return {
    name: `SSO ${method} ${path}`,
    answer: { kind: "oidc" },
    ...via,
    cases: fc.record({
      method: fc.constant(method),
      path: fc.constant(path),
      query,
      headers: options.headers ?? extraHeaders,
      body: options.body ?? fc.constant(null),
      scheme: fc.constant<Scheme>("none"),
      key: fc.constant(null),
      tamper: fc.constant("none" as const),
    }) satisfies fc.Arbitrary<CaseSpec>,
  };
}

/** The /oidc routes, their cases drawing on `pool` (filled before the cases run, read when each case is made). */
export function ssoInterfaces(pool: SsoPool): FuzzInterface[] {
  const via = {
    send: (request: Request): Promise<Response> => {
      if (!pool.world) throw new Error("the SSO world is not prepared");
      return pool.world.fetch(request);
    },
    prepare: () => freshSignIns(pool),
  };
  const instanceId = fc.oneof({ weight: 4, arbitrary: fc.constant(null).map(() => pool.instanceId) }, { weight: 1, arbitrary: stringish.map(String) });
  const authorizeParams = fc
    .tuple(instanceId, challenge, fc.constantFrom(APP_REDIRECT, "https://app.test/other", "https://evil.test/cb"), fc.string({ maxLength: 20 }))
    .map(([id, pkce, redirect, state]): Array<[string, string]> => [
      ["client_id", APP_CLIENT_ID],
      ["redirect_uri", redirect],
      ["response_type", "code"],
      ["scope", "openid profile"],
      ["state", state],
      ["nonce", "n-fuzz"],
      ["code_challenge", pkce],
      ["code_challenge_method", "S256"],
      ["instance_id", id],
    ]);
  const callbackParams = fc.oneof(
    { weight: 3, arbitrary: pick(() => pool.callbacks).map((search) => [...new URLSearchParams(search)]) },
    { weight: 1, arbitrary: fc.tuple(pick(() => pool.callbacks), fc.constantFrom("access_denied", "server_error")).map(([search, error]): Array<[string, string]> => [["state", new URLSearchParams(search).get("state") ?? ""], ["error", error]]) },
  );
  const tokenForm = fc
    .tuple(pick(() => pool.codes.map(({ code, verifier }) => `${code} ${verifier}`)), fc.constantFrom(APP_REDIRECT, "https://app.test/other"), fc.boolean())
    .map(([pair, redirect, rightVerifier]): Array<[string, string]> => {
      const [code = "", verifier = ""] = pair.split(" ");
      return [
        ["grant_type", "authorization_code"],
        ["code", code],
        ["redirect_uri", redirect],
        ["code_verifier", rightVerifier ? verifier : "x".repeat(43)],
        ["client_id", APP_CLIENT_ID],
        ["client_secret", APP_CLIENT_SECRET],
      ];
    });
  const tokenBody = fc.oneof(
    { weight: 6, arbitrary: mutatedParams(tokenForm).map((params) => String(new URLSearchParams(params))) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value) ?? "null") },
    { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
  );
  const basic = fc.constant(`Basic ${btoa(`${APP_CLIENT_ID}:${APP_CLIENT_SECRET}`)}`);
  const tokenHeaders = fc
    .tuple(fc.constantFrom("application/x-www-form-urlencoded", "application/x-www-form-urlencoded", "application/json", ""), fc.option(fc.oneof(basic, stringish.map(String)), { nil: undefined }), extraHeaders)
    .map(([type, authorization, extra]): Array<[string, string]> => [
      ...(type ? [["Content-Type", type] as [string, string]] : []),
      ...(authorization && /^[ -~]*$/.test(authorization) ? [["Authorization", authorization] as [string, string]] : []),
      ...extra,
    ]);
  const bearer = fc
    .tuple(fc.oneof({ weight: 3, arbitrary: pick(() => pool.accessTokens) }, { weight: 1, arbitrary: fc.stringMatching(/^[ -~]{0,60}$/) }), fc.constantFrom("Bearer ", "bearer ", "Basic ", ""), extraHeaders)
    .map(([value, prefix, extra]): Array<[string, string]> => [["Authorization", `${prefix}${value}`], ...extra]);
  const logoutParams = fc
    .tuple(
      fc.option(fc.oneof(pick(() => pool.idTokens), stringish.map(String)), { nil: undefined }),
      fc.option(instanceId, { nil: undefined }),
      fc.option(fc.oneof(fc.constant(null).map(() => pool.tenantId), stringish.map(String)), { nil: undefined }),
      fc.option(fc.constantFrom("https://app.test/signed-out", "https://evil.test/", "not a url", "https://app.test/#frag"), { nil: undefined }),
      fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    )
    .map(([hint, id, tenant, returnTo, state]) =>
      Object.entries({ id_token_hint: hint, instance_id: id, tenant_id: tenant, post_logout_redirect_uri: returnTo, state }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
  const randomQuery = fc.oneof({ weight: 4, arbitrary: extraQuery }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.string({ maxLength: 12 }), anyValue.map(asText)), { maxLength: 3 }) });
  return [
    ssoInterface("GET", "/oidc/.well-known/openid-configuration", randomQuery, {}, via),
    ssoInterface("GET", "/oidc/jwks", randomQuery, {}, via),
    ssoInterface("GET", "/oidc/authorize", fc.oneof({ weight: 6, arbitrary: mutatedParams(authorizeParams) }, { weight: 1, arbitrary: extraQuery }), {}, via),
    ssoInterface("GET", "/oidc/callback", fc.oneof({ weight: 6, arbitrary: mutatedParams(callbackParams) }, { weight: 1, arbitrary: extraQuery }), {}, via),
    ssoInterface("POST", "/oidc/token", extraQuery, { headers: tokenHeaders, body: tokenBody }, via),
    ssoInterface("GET", "/oidc/userinfo", extraQuery, { headers: bearer }, via),
    ssoInterface("POST", "/oidc/userinfo", extraQuery, { headers: bearer, body: fc.option(fc.string({ maxLength: 60 }), { nil: null }) }, via),
    ssoInterface("GET", "/oidc/logout", fc.oneof({ weight: 6, arbitrary: mutatedParams(logoutParams) }, { weight: 1, arbitrary: extraQuery }), {}, via),
  ];
}
