import type { IRequest } from "itty-router";
import { bearerTokenOf } from "../crypto/bearer-token";
import { getDb } from "../db/client";
import { publicClaims } from "./claims";
import { digestOf } from "./one-time-values";
import { jsonNoStore } from "./responses";
import { findByAccessToken } from "./sso.repo";

/** GET (or POST) /oidc/userinfo with the Bearer access token: the same claims as the id_token. */
export async function userinfo(request: IRequest, env: Env, now = Date.now()): Promise<Response> {
  const accessToken = bearerTokenOf(request);
  const grant = accessToken === undefined ? undefined : await findByAccessToken(getDb(env), digestOf(accessToken), now);
  if (!grant) {
    return jsonNoStore({ error: "invalid_token", error_description: "the access token is unknown, expired or revoked" }, 401, {
      "WWW-Authenticate": 'Bearer error="invalid_token"',
    });
  }
  return jsonNoStore(publicClaims(grant.claims));
}
