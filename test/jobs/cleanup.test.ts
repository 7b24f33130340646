import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { INBOX_RETENTION_MS, USAGE_EVENT_RETENTION_MS, cleanupJob, purgeableEventsSql } from "../../src/jobs/cleanup.job";
import { uniqueId } from "../support/marketplace";

const DAY = 24 * 3600_000;
const NOW = Date.UTC(2027, 0, 15, 3, 30);

async function addInbox(iface: string, receivedAt: number): Promise<string> {
  const key = uniqueId(`clean:${iface}:`);
  await env.DB.prepare(
    "INSERT INTO inbox (idempotency_key, fingerprint, interface, activity, instance_id, is_test, request, result_code, answer, received_at) VALUES (?, 'f', ?, 'a', 'i', 0, '{}', '000000', '{}', ?)",
  )
    .bind(key, iface, receivedAt)
    .run();
  return key;
}

async function inboxExists(key: string): Promise<boolean> {
  return (await env.DB.prepare("SELECT 1 FROM inbox WHERE idempotency_key = ?").bind(key).first()) !== null;
}

async function addRecord(state: string, resolvedAt: number | null, events: number): Promise<string> {
  const sn = uniqueId("SN");
  const instanceId = uniqueId("ins");
  await env.DB.prepare(
    `INSERT INTO usage_records (metering_sn, instance_id, period, period_begin, begin_time, end_time, cover_from, cover_to, usage_units, usage_value,
       event_count, late_units, state, attempts, next_attempt_at, deadline, warn_at, rollup_token, resolved_at, created_at, updated_at)
     VALUES (?, ?, 'hourly', 0, 0, 1, 0, 1, ?, '1', ?, 0, ?, 1, 0, 1, 1, 't', ?, 0, 0)`,
  )
    .bind(sn, instanceId, events, events, state, resolvedAt)
    .run();
  const inserts = Array.from({ length: events }, (_, i) =>
    env.DB.prepare("INSERT INTO usage_events (event_id, instance_id, quantity_units, event_time, received_at, record_sn) VALUES (?, ?, 1, 0, 0, ?)").bind(`${sn}-${i}`, instanceId, sn),
  );
  if (inserts.length > 0) await env.DB.batch(inserts);
  return sn;
}

async function eventsOf(sn: string): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM usage_events WHERE record_sn = ?").bind(sn).first<{ n: number }>())?.n ?? -1;
}

describe("daily clean-up", () => {
  it("deletes inbox rows past their retention, V1 rows only once a V1 call that old would be refused", async () => {
    const oldV2 = await addInbox("v2", NOW - INBOX_RETENTION_MS - 1);
    const freshV2 = await addInbox("v2", NOW - INBOX_RETENTION_MS + 60_000);
    const oldKit = await addInbox("kit-v2", NOW - INBOX_RETENTION_MS - 1);
    const oldV1 = await addInbox("v1", NOW - INBOX_RETENTION_MS - 1);

    // V1_TIMESTAMP_MAX_AGE_SECONDS = 0: an old V1 URL is still accepted, so its row must stay to answer the replay.
    await cleanupJob({ ...env, V1_TIMESTAMP_MAX_AGE_SECONDS: "0" }, NOW);
    expect([await inboxExists(oldV2), await inboxExists(freshV2), await inboxExists(oldKit), await inboxExists(oldV1)]).toEqual([false, true, false, true]);

    // Default (1 day): past 30 days the V1 row goes too.
    await cleanupJob(env, NOW);
    expect(await inboxExists(oldV1)).toBe(false);

    // Max age 20 days: V1 rows stay 21 days... but never less than the 30 days of every other row.
    const v1At31Days = await addInbox("kit-v1", NOW - 31 * DAY);
    await cleanupJob({ ...env, V1_TIMESTAMP_MAX_AGE_SECONDS: String(6 * 86400) }, NOW);
    expect(await inboxExists(v1At31Days)).toBe(false);
  });

  it("deletes expired nonces only", async () => {
    const expired = uniqueId("nonce-");
    const live = uniqueId("nonce-");
    await env.DB.batch([
      env.DB.prepare("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)").bind(expired, NOW - 1),
      env.DB.prepare("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)").bind(live, NOW + 60_000),
    ]);
    await cleanupJob(env, NOW);
    const left = await env.DB.prepare("SELECT nonce FROM nonces WHERE nonce IN (?, ?)").bind(expired, live).all<{ nonce: string }>();
    expect(left.results.map((r) => r.nonce)).toEqual([live]);
  });

  it("deletes usage events 60 days after their record was accepted, and nothing else", async () => {
    const accepted61 = await addRecord("accepted", NOW - USAGE_EVENT_RETENTION_MS - 1, 3);
    const accepted59 = await addRecord("accepted", NOW - USAGE_EVENT_RETENTION_MS + DAY, 2);
    const rejectedOld = await addRecord("rejected", NOW - 200 * DAY, 2);
    const expiredOld = await addRecord("expired", NOW - 200 * DAY, 1);
    const sentOld = await addRecord("sent", null, 1);
    const counts = await cleanupJob(env, NOW);
    expect(counts).toMatchObject({ usageEventsDeleted: 3, usageRecordsPurged: 1 });
    expect([await eventsOf(accepted61), await eventsOf(accepted59), await eventsOf(rejectedOld), await eventsOf(expiredOld), await eventsOf(sentOld)]).toEqual([0, 2, 2, 1, 1]);
    const record = await env.DB.prepare("SELECT state, events_purged_at FROM usage_records WHERE metering_sn = ?").bind(accepted61).first();
    expect(record).toEqual({ state: "accepted", events_purged_at: NOW });
  });

  it("stops at its per-run budget and finishes the backlog on later runs", async () => {
    const limits = { batch: 2, batchesPerRun: 3, recordsPerBatch: 1 };
    const expired = Array.from({ length: 10 }, () => uniqueId("nb-"));
    await env.DB.batch(expired.map((nonce) => env.DB.prepare("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)").bind(nonce, NOW - 1)));
    const records = [await addRecord("accepted", NOW - 100 * DAY, 5), await addRecord("accepted", NOW - 99 * DAY, 1)];

    const first = await cleanupJob(env, NOW, limits);
    // Three statements of two rows each: 2 + 2 + the last 1 of the older record, which is then marked done.
    expect(first).toMatchObject({ noncesDeleted: 6, usageEventsDeleted: 5, usageRecordsPurged: 1 });
    const second = await cleanupJob(env, NOW, limits);
    expect(second).toMatchObject({ noncesDeleted: 4, usageEventsDeleted: 1, usageRecordsPurged: 1 });
    expect([await eventsOf(records[0] ?? ""), await eventsOf(records[1] ?? "")]).toEqual([0, 0]);
  });

  it("finds its work through indexes, never a table scan", async () => {
    const plans = [
      "SELECT nonce FROM nonces WHERE expires_at < 1 LIMIT 10",
      "SELECT id FROM job_runs WHERE started_at < 1 LIMIT 10",
      "SELECT id FROM inbox WHERE interface = 'v2' AND received_at < 1 LIMIT 10",
      "SELECT metering_sn FROM usage_records WHERE state = 'accepted' AND events_purged_at IS NULL AND resolved_at < 1 ORDER BY resolved_at LIMIT 10",
    ];
    const { sql: purgeable, params } = new SQLiteAsyncDialect().sqlToQuery(purgeableEventsSql(sql`'a', 'b'`, 10));
    const purgeableQuery = purgeable.replace("?", String(params[0]));
    plans.push(purgeableQuery);
    for (const query of plans) {
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query}`).all<{ detail: string }>();
      const details = plan.results.map((row) => row.detail).join(" | ");
      expect(details, query).toMatch(/USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY/);
      expect(details, query).not.toMatch(/^SCAN|\| SCAN|TEMP B-TREE/);
      if (query === purgeableQuery) expect(details).toContain("USING COVERING INDEX usage_events_record_idx (instance_id=? AND record_sn=?)");
    }
  });
});
