import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { epochMs } from "./common";

/*
 * Single sign-on (src/sso, docs/storage.md): the gateway as the OpenID Provider of the seller's app in front of each
 * tenant's OAuth2 IdP (spec §6.6). Short-lived rows only; none holds a token or a secret in plain text: states and codes
 * are looked up by a SHA-256 of their value, and the tenant IdP's tokens are never stored at all.
 */

/**
 * One sign-in under way, from the app's authorize to the tenant IdP's return (at most 10 minutes). The `state` sent to
 * the IdP is this row's id with a MAC; `used_at` makes it single-use (set by one conditional UPDATE).
 */
export const oidcStates = sqliteTable(
  "oidc_states",
  {
    /** SHA-256 (hex) of the random part of the state: the value itself only travels through the browser. */
    idHash: text("id_hash").primaryKey(),
    clientId: text("client_id").notNull(),
    redirectUri: text("redirect_uri").notNull(),
    /** The app's own `state`, handed back untouched; null when the app sent none. */
    appState: text("app_state"),
    nonce: text("nonce"),
    codeChallenge: text("code_challenge").notNull(),
    scope: text("scope").notNull(),
    /** The purchase the app named; null for the Marketplace's test enterprise (`tenant_id` sign-ins). */
    instanceId: text("instance_id"),
    /** Where the tenant's kit rows live: the purchase, or "" for the test enterprise (a debug purchase uses it too). */
    kitInstanceId: text("kit_instance_id").notNull(),
    isTest: integer("is_test", { mode: "boolean" }).notNull(),
    tenantId: text("tenant_id").notNull(),
    appId: text("app_id").notNull(),
    expiresAt: epochMs("expires_at").notNull(),
    usedAt: epochMs("used_at"),
    createdAt: epochMs("created_at").notNull(),
  },
  (t) => [index("oidc_states_expires_idx").on(t.expiresAt)],
);

/** The claims of one signed-in user, as the id_token and userinfo give them (src/sso/claims.ts). */
export interface SsoClaimsRecord {
  sub: string;
  name: string;
  preferred_username: string;
  email?: string;
  instance_id: string | null;
  tenant_id: string;
  role: string;
  organization_code: string;
  test?: true;
}

/**
 * One authorization code given to the app, and the access token it was exchanged for. Keeping both in one row makes
 * the exchange one conditional UPDATE (code unused → used, token recorded), and a second use of the code revokes
 * exactly the token of that row (RFC 6749 §4.1.2), with no window between "used" and "issued".
 */
export const oidcGrants = sqliteTable(
  "oidc_grants",
  {
    /** SHA-256 (hex) of the code. */
    codeHash: text("code_hash").primaryKey(),
    clientId: text("client_id").notNull(),
    redirectUri: text("redirect_uri").notNull(),
    codeChallenge: text("code_challenge").notNull(),
    nonce: text("nonce"),
    scope: text("scope").notNull(),
    /** Personal data (name, e-mail): kept only while the code or its access token can still be used. */
    claims: text("claims", { mode: "json" }).$type<SsoClaimsRecord>().notNull(),
    authTime: epochMs("auth_time").notNull(),
    codeExpiresAt: epochMs("code_expires_at").notNull(),
    usedAt: epochMs("used_at"),
    /** SHA-256 (hex) of the access token the code was exchanged for. */
    accessTokenHash: text("access_token_hash"),
    accessExpiresAt: epochMs("access_expires_at"),
    revokedAt: epochMs("revoked_at"),
    /** When the row may go: the later of the code's and the access token's end. */
    purgeAfter: epochMs("purge_after").notNull(),
    createdAt: epochMs("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("oidc_grants_access_token_uq").on(t.accessTokenHash).where(sql`access_token_hash IS NOT NULL`),
    index("oidc_grants_purge_idx").on(t.purgeAfter),
  ],
);

/** Each completed sign-in, for the instance's timeline: who and when, never a token. */
export const ssoSignIns = sqliteTable(
  "sso_sign_ins",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** Null for sign-ins of the Marketplace's test enterprise, which belong to no instance. */
    instanceId: text("instance_id"),
    isTest: integer("is_test", { mode: "boolean" }).notNull(),
    tenantId: text("tenant_id").notNull(),
    appId: text("app_id").notNull(),
    userName: text("user_name").notNull(),
    role: text("role").notNull(),
    clientId: text("client_id").notNull(),
    at: epochMs("at").notNull(),
  },
  (t) => [index("sso_sign_ins_instance_idx").on(t.instanceId, t.at), index("sso_sign_ins_at_idx").on(t.at)],
);

export type OidcState = typeof oidcStates.$inferSelect;
export type OidcGrant = typeof oidcGrants.$inferSelect;
export type SsoSignIn = typeof ssoSignIns.$inferSelect;
