import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cleanupJob } from "../../src/jobs/cleanup.job";
import { SIGN_IN_RETENTION_MS } from "../../src/sso/sso.repo";
import { uniqueId } from "../support/marketplace";

/* docs/storage.md "Single sign-on": grants go at their end (personal data), states an hour after, sign-ins after 30 days. */

const NOW = Date.UTC(2026, 5, 1);

async function seed(tag: string, at: { stateExpires: number; grantPurge: number; signIn: number }) {
  await env.DB.prepare(
    "INSERT INTO oidc_states (id_hash, client_id, redirect_uri, code_challenge, scope, kit_instance_id, is_test, tenant_id, app_id, expires_at, created_at) VALUES (?, 'c', 'https://app.test/cb', 'x', 'openid', '', 0, 'T', 'a', ?, 0)",
  )
    .bind(`state-${tag}`, at.stateExpires)
    .run();
  await env.DB.prepare(
    "INSERT INTO oidc_grants (code_hash, client_id, redirect_uri, code_challenge, scope, claims, auth_time, code_expires_at, purge_after, created_at) VALUES (?, 'c', 'https://app.test/cb', 'x', 'openid', '{}', 0, 0, ?, 0)",
  )
    .bind(`grant-${tag}`, at.grantPurge)
    .run();
  await env.DB.prepare("INSERT INTO sso_sign_ins (instance_id, is_test, tenant_id, app_id, user_name, role, client_id, at) VALUES (?, 0, 'T', 'a', 'u', 'user', 'c', ?)")
    .bind(`instance-${tag}`, at.signIn)
    .run();
}

async function remaining(tag: string) {
  const one = (query: string) => env.DB.prepare(query).bind(tag).first<{ n: number }>().then((row) => row?.n ?? -1);
  return {
    states: await one("SELECT COUNT(*) AS n FROM oidc_states WHERE id_hash = 'state-' || ?"),
    grants: await one("SELECT COUNT(*) AS n FROM oidc_grants WHERE code_hash = 'grant-' || ?"),
    signIns: await one("SELECT COUNT(*) AS n FROM sso_sign_ins WHERE instance_id = 'instance-' || ?"),
  };
}

describe("single sign-on retention", () => {
  it("deletes states an hour past expiry, grants past purge_after and sign-ins older than 30 days, and nothing live", async () => {
    const old = uniqueId("old");
    const live = uniqueId("live");
    await seed(old, { stateExpires: NOW - 3600_000 - 1, grantPurge: NOW - 1, signIn: NOW - SIGN_IN_RETENTION_MS - 1 });
    await seed(live, { stateExpires: NOW - 60_000, grantPurge: NOW + 60_000, signIn: NOW - 1000 });
    const counts = await cleanupJob(env, NOW);
    expect(counts.ssoRowsDeleted).toBeGreaterThanOrEqual(3);
    expect(await remaining(old)).toEqual({ states: 0, grants: 0, signIns: 0 });
    expect(await remaining(live)).toEqual({ states: 1, grants: 1, signIns: 1 });
  });
});
