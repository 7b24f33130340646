import { createHash, timingSafeEqual } from "node:crypto";
import type { IRequest } from "itty-router";
import { getDb } from "../db/client";
import { log } from "../observability/log";
import { publicClaims } from "./claims";
import { signJwt } from "./id-token";
import { digestOf, randomValue, s256 } from "./one-time-values";
import { jsonNoStore, oauthError } from "./responses";
import type { SsoConfig } from "./sso-settings";
import { ACCESS_TOKEN_TTL_MS, redeemCode } from "./sso.repo";

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(given), digest(expected));
}

type ClientAuth = { ok: true } | { ok: false; response: Response };

/** client_secret_basic (RFC 6749 §2.3.1: form-urlencoded id and secret inside Basic) or client_secret_post; not both. */
function authenticateClient(request: Request, form: URLSearchParams, config: SsoConfig): ClientAuth {
  const header = request.headers.get("authorization");
  const basic = header === null ? undefined : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)?.[1];
  let id: string | undefined;
  let secret: string | undefined;
  if (basic !== undefined) {
    if (form.has("client_secret")) return { ok: false, response: oauthError(400, "invalid_request", "use one client authentication method") };
    const decoded = Buffer.from(basic, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return failed();
    try {
      id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " "));
      secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " "));
    } catch {
      return failed();
    }
  } else {
    id = form.get("client_id") ?? undefined;
    secret = form.get("client_secret") ?? undefined;
  }
  if (id !== config.clientId || secret === undefined || !sameSecret(secret, config.clientSecret)) return failed();
  return { ok: true };
}

function failed(): ClientAuth {
  return { ok: false, response: oauthError(401, "invalid_client", "client authentication failed", { "WWW-Authenticate": 'Basic realm="oidc"' }) };
}

/** POST /oidc/token: the app's code, with its PKCE verifier, for an access token and an id_token. */
export async function token(request: IRequest, env: Env, config: SsoConfig, now = Date.now()): Promise<Response> {
  const contentType = request.headers.get("content-type") ?? "";
  if (!/^application\/x-www-form-urlencoded\b/i.test(contentType)) return oauthError(400, "invalid_request", "the body must be application/x-www-form-urlencoded");
  // Decoded by hand: workerd warns when .text() reads a body whose type is not text.
  const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
  const auth = authenticateClient(request, form, config);
  if (!auth.ok) return auth.response;
  if (form.get("grant_type") !== "authorization_code") return oauthError(400, "unsupported_grant_type", "grant_type must be authorization_code");
  const code = form.get("code");
  const redirectUri = form.get("redirect_uri");
  const verifier = form.get("code_verifier");
  if (!code || !redirectUri) return oauthError(400, "invalid_request", "code and redirect_uri are required");
  if (!verifier || !VERIFIER.test(verifier)) return oauthError(400, "invalid_grant", "code_verifier is missing or malformed");
  const accessToken = randomValue();
  const db = getDb(env);
  const result = await redeemCode(db, {
    codeHash: digestOf(code),
    clientId: config.clientId,
    redirectUri,
    codeChallenge: s256(verifier),
    accessTokenHash: digestOf(accessToken),
    now,
  });
  if (!result.ok) {
    if (result.reused) log("warn", "sso.token.code_reused", {});
    return oauthError(400, "invalid_grant", result.reused ? "the code was already used; what it issued is revoked" : "the code is invalid, expired, or not for this redirect_uri or code_verifier");
  }
  const grant = result.grant;
  const iat = Math.floor(now / 1000);
  const expiresIn = ACCESS_TOKEN_TTL_MS / 1000;
  const idToken = await signJwt(config.signingKey, {
    iss: config.issuer,
    aud: config.clientId,
    iat,
    exp: iat + expiresIn,
    auth_time: Math.floor(grant.authTime / 1000),
    ...(grant.nonce ? { nonce: grant.nonce } : {}),
    ...publicClaims(grant.claims),
  });
  return jsonNoStore({ access_token: accessToken, token_type: "Bearer", expires_in: expiresIn, id_token: idToken, scope: grant.scope });
}
