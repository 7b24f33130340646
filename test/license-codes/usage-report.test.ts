import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { LICENSE_USAGE_RETENTION_MS, cleanupJob } from "../../src/jobs/cleanup.job";
import { USAGE_LEASE_MS, licenseUsageReportJob, usageRetryDelayMs } from "../../src/jobs/license-usage-report.job";
import { licenseUsageQueue } from "../../src/db/schema/license-codes";
import { MAX_PENDING_USAGE_PER_CODE } from "../../src/license-codes/rate-limits";
import { enqueueUsage } from "../../src/license-codes/usage-queue";
import { SCHEDULE } from "../../src/schedule";
import { sellerCall } from "../support/seller-api";
import { fakeLicenses, newLicenseCode, openApiCalls } from "../support/license-codes";

/*
 * Storage is per test file, so this file's queue holds only its own rows; the fake Marketplace is shared, so what it
 * received is filtered by this file's codes.
 */

const queueStates = async (codes: string[]) => {
  const { results } = await env.DB.prepare("SELECT state, COUNT(*) AS n FROM license_usage_queue WHERE code IN (SELECT value FROM json_each(?)) GROUP BY state")
    .bind(JSON.stringify(codes))
    .all<{ state: string; n: number }>();
  return Object.fromEntries(results.map((row) => [row.state, row.n]));
};

const receivedFor = async (codes: string[]) => {
  const mine = new Set(codes);
  return (await fakeLicenses.softwareUsage()).filter((entry) => mine.has(entry.license));
};

describe("licenseUsageReport (§2.4 L3): queued usage in batches of at most 100, each sent once", () => {
  it("runs every five minutes", () => {
    expect(SCHEDULE["*/5 * * * *"]?.map((entry) => entry.name)).toContain("licenseUsageReport");
  });

  it("sends 230 queued entries as batches of 100, 100 and 30, and nothing again on the next run", async () => {
    const codes = Array.from({ length: 230 }, () => newLicenseCode());
    const db = getDb(env);
    const now = Date.now();
    // Through the route for a few (the real path), straight into the queue for the bulk.
    for (const code of codes.slice(0, 3)) {
      const answer = await sellerCall(`/api/v1/license-codes/${code}/software-usage`, { body: { entries: [{ id: `host-${code}` }, { activeNum: 4 }] } });
      expect(answer.status).toBe(200);
    }
    const rows = codes.slice(3).map((code) => ({ code, entries: [{ active_num: 1 }], state: "pending" as const, nextAttemptAt: now, createdAt: now, updatedAt: now }));
    // D1 binds at most 100 variables per statement: 12 rows of 7 each.
    const inserts = [];
    for (let i = 0; i < rows.length; i += 12) inserts.push(db.insert(licenseUsageQueue).values(rows.slice(i, i + 12)));
    const [first, ...rest] = inserts;
    if (first) await db.batch([first, ...rest]);
    const callsBefore = (await openApiCalls("/license/software-usage-info")).length;

    const counts = await licenseUsageReportJob(env, now + 1_000);
    expect(counts).toEqual({ batches: 3, calls: 3, sent: 230, retrying: 0, rejected: 0 });
    expect((await openApiCalls("/license/software-usage-info")).length - callsBefore).toBe(3);
    const received = await receivedFor(codes);
    expect(received).toHaveLength(230);
    expect(new Set(received.map((entry) => entry.license)).size).toBe(230);
    expect(received.find((entry) => entry.license === codes[0])?.software_usage_Info).toEqual([{ id: `host-${codes[0]}` }, { active_num: 4 }]);
    expect(await queueStates(codes)).toEqual({ sent: 230 });

    expect(await licenseUsageReportJob(env, now + 600_000)).toEqual({ batches: 0, calls: 0, sent: 0, retrying: 0, rejected: 0 });
    expect(await receivedFor(codes)).toHaveLength(230);
  }, 30_000);

  it("a batch the Marketplace cannot take is retried after a backoff, then sent once", async () => {
    const codes = [newLicenseCode(), newLicenseCode()];
    const db = getDb(env);
    const now = Date.now();
    for (const code of codes) await enqueueUsage(db, code, [{ active_num: 2 }], now);
    await fakeLicenses.outage(codes, "http503");
    try {
      expect(await licenseUsageReportJob(env, now)).toMatchObject({ batches: 1, sent: 0, retrying: 2 });
    } finally {
      await fakeLicenses.outageOver(codes);
    }
    expect(await queueStates(codes)).toEqual({ pending: 2 });
    // Not due yet: nothing sent.
    expect(await licenseUsageReportJob(env, now + usageRetryDelayMs(1) - 1)).toMatchObject({ batches: 0 });
    expect(await licenseUsageReportJob(env, now + usageRetryDelayMs(1))).toMatchObject({ batches: 1, sent: 2 });
    expect(await receivedFor(codes)).toHaveLength(2);
    expect(await queueStates(codes)).toEqual({ sent: 2 });
  });

  it("one unknown code (92020005) in a batch of many rejects only its own rows; the rest are sent", async () => {
    // Issue 19 item 9: the Marketplace refuses the whole call for one bad code; the batch is split until it is alone.
    const good = Array.from({ length: 40 }, () => newLicenseCode());
    const bad = newLicenseCode();
    await fakeLicenses.error(bad, "92020005");
    const db = getDb(env);
    const now = Date.now();
    for (const code of [...good.slice(0, 17), bad, ...good.slice(17), bad]) await enqueueUsage(db, code, [{ active_num: 1 }], now);
    try {
      const counts = await licenseUsageReportJob(env, now + 1_000);
      expect(counts).toMatchObject({ sent: 40, rejected: 2, retrying: 0 });
    } finally {
      await fakeLicenses.error(bad, null);
    }
    expect(await queueStates(good)).toEqual({ sent: 40 });
    expect(await queueStates([bad])).toEqual({ rejected: 2 });
    const received = await receivedFor([...good, bad]);
    expect(new Set(received.map((entry) => entry.license))).toEqual(new Set(good));
    const rejected = await env.DB.prepare("SELECT last_error FROM license_usage_queue WHERE code = ?").bind(bad).all<{ last_error: string }>();
    expect(rejected.results.every((row) => row.last_error.includes("92020005"))).toBe(true);
  });

  it("the gateway's credentials refused (92020001, HTTP 403) reject nothing: the batch waits for the operator", async () => {
    const codes = [newLicenseCode(), newLicenseCode()];
    const db = getDb(env);
    const now = Date.now();
    for (const code of codes) await enqueueUsage(db, code, [{ id: "host-1" }], now);
    await fakeLicenses.error(codes[0] ?? "", "92020001");
    try {
      expect(await licenseUsageReportJob(env, now)).toMatchObject({ sent: 0, rejected: 0, retrying: 2 });
    } finally {
      await fakeLicenses.error(codes[0] ?? "", null);
    }
    expect(await queueStates(codes)).toEqual({ pending: 2 });
    expect(await licenseUsageReportJob(env, now + usageRetryDelayMs(1))).toMatchObject({ sent: 2 });
  });

  it("a claimed batch is not claimed by an overlapping run until its lease runs out", async () => {
    const code = newLicenseCode();
    const db = getDb(env);
    const now = Date.now();
    await enqueueUsage(db, code, [{ id: "claimed" }], now);
    // A run that claimed the row and died before it recorded the answer.
    await env.DB.prepare("UPDATE license_usage_queue SET state = 'sending', batch_id = 'dead-run', lease_until = ? WHERE code = ?").bind(now + USAGE_LEASE_MS, code).run();
    expect(await licenseUsageReportJob(env, now + 1_000)).toMatchObject({ batches: 0 });
    expect(await licenseUsageReportJob(env, now + USAGE_LEASE_MS + 1)).toMatchObject({ batches: 1, sent: 1 });
    expect(await receivedFor([code])).toHaveLength(1);
  });

  it("the daily clean-up deletes sent entries after 30 days, never unsent or rejected ones", async () => {
    const db = getDb(env);
    const now = Date.now();
    const [oldSent, freshSent, oldRejected, oldPending] = [newLicenseCode(), newLicenseCode(), newLicenseCode(), newLicenseCode()];
    for (const code of [oldSent, freshSent, oldRejected, oldPending]) await enqueueUsage(db, code, [{ active_num: 1 }], now - LICENSE_USAGE_RETENTION_MS - 3_600_000);
    const set = (code: string, state: string, sentAt: number | null) =>
      env.DB.prepare("UPDATE license_usage_queue SET state = ?, sent_at = ?, next_attempt_at = ? WHERE code = ?").bind(state, sentAt, now + 3_600_000, code).run();
    await set(oldSent, "sent", now - LICENSE_USAGE_RETENTION_MS - 1);
    await set(freshSent, "sent", now - LICENSE_USAGE_RETENTION_MS + 60_000);
    await set(oldRejected, "rejected", null);
    const counts = await cleanupJob(env, now);
    expect(counts.licenseUsageDeleted).toBe(1);
    expect(await queueStates([oldSent, freshSent, oldRejected, oldPending])).toEqual({ sent: 1, rejected: 1, pending: 1 });
  });
});

describe("the software-usage queue per code is capped", () => {
  it(`refuses a report beyond ${MAX_PENDING_USAGE_PER_CODE} unsent rows of one code with 429 and Retry-After, storing nothing`, async () => {
    const code = newLicenseCode();
    const now = Date.now();
    // Seeded in one statement: the cap's worth of unsent rows for this code.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO license_usage_queue (code, entries, state, attempts, next_attempt_at, created_at, updated_at)
       SELECT ?, '[{"active_num":1}]', 'pending', 0, ?, ?, ? FROM n`,
    )
      .bind(MAX_PENDING_USAGE_PER_CODE, code, now + 3_600_000, now, now)
      .run();
    const post = () => sellerCall(`/api/v1/license-codes/${code}/software-usage`, { body: { entries: [{ activeNum: 2 }] } });
    const refused = await post();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(String(refused.json.error)).toMatch(/1000 usage reports/);
    expect(await queueStates([code])).toEqual({ pending: MAX_PENDING_USAGE_PER_CODE });
    // Another code is not affected, and once rows are sent this code takes reports again.
    expect((await sellerCall(`/api/v1/license-codes/${newLicenseCode()}/software-usage`, { body: { entries: [{ activeNum: 2 }] } })).status).toBe(200);
    await env.DB.prepare("UPDATE license_usage_queue SET state = 'sent', sent_at = ? WHERE id IN (SELECT id FROM license_usage_queue WHERE code = ? LIMIT 1)").bind(now, code).run();
    expect((await post()).status).toBe(200);
    expect(await queueStates([code])).toEqual({ pending: MAX_PENDING_USAGE_PER_CODE, sent: 1 });
  });
});
