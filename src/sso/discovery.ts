import { publishedJwks } from "./id-token";
import type { SsoConfig } from "./sso-settings";

/** Clients may cache these; a key rotation keeps the previous key published far longer (README). */
const CACHE = { "Cache-Control": "public, max-age=3600" };

export const SUPPORTED_CLAIMS = [
  "sub", "iss", "aud", "iat", "exp", "auth_time", "nonce", "name", "preferred_username", "email",
  "instance_id", "tenant_id", "role", "organization_code", "test",
] as const;

/** GET /oidc/.well-known/openid-configuration (OpenID Connect Discovery 1.0). */
export function discovery(config: SsoConfig): Response {
  const issuer = config.issuer;
  return Response.json(
    {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/userinfo`,
      jwks_uri: `${issuer}/jwks`,
      end_session_endpoint: `${issuer}/logout`,
      response_types_supported: ["code"],
      response_modes_supported: ["query"],
      grant_types_supported: ["authorization_code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      code_challenge_methods_supported: ["S256"],
      scopes_supported: ["openid", "profile", "email"],
      claims_supported: SUPPORTED_CLAIMS,
      // RFC 9207: the app can tell our answers from another IdP's (mix-up attacks).
      authorization_response_iss_parameter_supported: true,
      request_parameter_supported: false,
      request_uri_parameter_supported: false,
    },
    { headers: CACHE },
  );
}

/** GET /oidc/jwks: the current signing key, then the previous one while it is configured. */
export async function jwks(config: SsoConfig): Promise<Response> {
  return Response.json({ keys: await publishedJwks(config) }, { headers: CACHE });
}
