import { and, desc, eq, gt, isNotNull, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type OidcGrant, type OidcState, type SsoClaimsRecord, oidcGrants, oidcStates, ssoSignIns } from "../db/schema/sso";

/*
 * States and codes are single-use through one conditional UPDATE … RETURNING each: D1 runs statements one at a time,
 * so of two concurrent uses exactly one sees the row unused and gets it back; the other gets nothing.
 */

/** How long a sign-in may take at the tenant IdP. */
export const STATE_TTL_MS = 10 * 60_000;
/** How long the app has to exchange its code. */
export const CODE_TTL_MS = 60_000;
/** Access tokens (userinfo) and id_tokens live this long. */
export const ACCESS_TOKEN_TTL_MS = 3600_000;
/** An expired state is kept this much longer, so a late return from the IdP is told "expired", not "not valid". */
const EXPIRED_STATE_GRACE_MS = 3600_000;
/** Sign-ins stay on the timeline this long (as inbox rows do). */
export const SIGN_IN_RETENTION_MS = 30 * 24 * 3600_000;

export type NewState = Omit<OidcState, "usedAt">;

export async function insertState(db: Db, row: NewState): Promise<void> {
  await db.insert(oidcStates).values(row);
}

export type StateUse = { ok: true; state: OidcState } | { ok: false; reason: "unknown" | "expired" | "used" };

export async function useState(db: Db, idHash: string, now: number): Promise<StateUse> {
  const [used] = await db
    .update(oidcStates)
    .set({ usedAt: now })
    .where(and(eq(oidcStates.idHash, idHash), isNull(oidcStates.usedAt), gt(oidcStates.expiresAt, now)))
    .returning();
  if (used) return { ok: true, state: used };
  const row = await db.select().from(oidcStates).where(eq(oidcStates.idHash, idHash)).get();
  return { ok: false, reason: row === undefined ? "unknown" : row.usedAt !== null ? "used" : "expired" };
}

export interface NewGrant {
  codeHash: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce: string | null;
  scope: string;
  claims: SsoClaimsRecord;
  authTime: number;
  now: number;
}

export async function insertGrant(db: Db, grant: NewGrant): Promise<void> {
  const { now, ...row } = grant;
  await db.insert(oidcGrants).values({ ...row, codeExpiresAt: now + CODE_TTL_MS, purgeAfter: now + CODE_TTL_MS, createdAt: now });
}

export interface Redemption {
  codeHash: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  accessTokenHash: string;
  now: number;
}

export type RedeemResult = { ok: true; grant: OidcGrant } | { ok: false; reused: boolean };

/**
 * Exchanges a code for an access token in one statement: the code must be unused, unexpired, and bound to this
 * client, redirect URI and PKCE challenge. A code already used is revoked with whatever it issued (RFC 6749 §4.1.2);
 * a wrong verifier, client or redirect leaves the code as it was, so only its rightful holder can still use it.
 */
export async function redeemCode(db: Db, r: Redemption): Promise<RedeemResult> {
  const accessExpiresAt = r.now + ACCESS_TOKEN_TTL_MS;
  const [grant] = await db
    .update(oidcGrants)
    .set({ usedAt: r.now, accessTokenHash: r.accessTokenHash, accessExpiresAt, purgeAfter: accessExpiresAt })
    .where(
      and(
        eq(oidcGrants.codeHash, r.codeHash),
        isNull(oidcGrants.usedAt),
        isNull(oidcGrants.revokedAt),
        gt(oidcGrants.codeExpiresAt, r.now),
        eq(oidcGrants.clientId, r.clientId),
        eq(oidcGrants.redirectUri, r.redirectUri),
        eq(oidcGrants.codeChallenge, r.codeChallenge),
      ),
    )
    .returning();
  if (grant) return { ok: true, grant };
  const revoked = await db
    .update(oidcGrants)
    .set({ revokedAt: r.now })
    .where(and(eq(oidcGrants.codeHash, r.codeHash), isNotNull(oidcGrants.usedAt)))
    .returning({ codeHash: oidcGrants.codeHash });
  return { ok: false, reused: revoked.length > 0 };
}

/** The grant of a live access token: issued, not revoked, not expired. */
export function findByAccessToken(db: Db, accessTokenHash: string, now: number): Promise<OidcGrant | undefined> {
  return db
    .select()
    .from(oidcGrants)
    .where(and(eq(oidcGrants.accessTokenHash, accessTokenHash), isNull(oidcGrants.revokedAt), gt(oidcGrants.accessExpiresAt, now)))
    .get();
}

export async function recordSignIn(db: Db, row: typeof ssoSignIns.$inferInsert): Promise<void> {
  await db.insert(ssoSignIns).values(row);
}

/**
 * Removes what has served its time: states an hour past expiry (they hold no personal data), grants past their code's and token's end (their claims are
 * personal data), sign-ins past the timeline's retention. Bounded per call; the daily clean-up and each callback run it.
 */
export async function purgeSso(db: Db, now: number, limit = 500): Promise<number> {
  const results = [
    await db.run(sql`DELETE FROM oidc_states WHERE id_hash IN (SELECT id_hash FROM oidc_states WHERE expires_at < ${now - EXPIRED_STATE_GRACE_MS} LIMIT ${limit})`),
    await db.run(sql`DELETE FROM oidc_grants WHERE code_hash IN (SELECT code_hash FROM oidc_grants WHERE purge_after < ${now} LIMIT ${limit})`),
    await db.run(sql`DELETE FROM sso_sign_ins WHERE id IN (SELECT id FROM sso_sign_ins WHERE at < ${now - SIGN_IN_RETENTION_MS} LIMIT ${limit})`),
  ];
  return results.reduce((sum, result) => sum + result.meta.changes, 0);
}

/** The instance's sign-ins, newest first (admin timeline). */
export function signInsOf(db: Db, instanceId: string, limit: number) {
  return db.select().from(ssoSignIns).where(eq(ssoSignIns.instanceId, instanceId)).orderBy(desc(ssoSignIns.at)).limit(limit);
}
