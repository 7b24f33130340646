import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { JobRunAnswer, JobsAnswer } from "../../src/admin/admin-api.schema";
import { HOUR_MS } from "../../src/billing/periods";
import { MINUTE, ingest, recordsOf, setClock, startDayWithInstance, useFakeMarketplace } from "../support/billing";
import { adminActionsOf, adminGet, adminPost, tableDigest } from "../support/admin";

const fake = useFakeMarketplace();
const isoOf = (ms: number) => new Date(ms).toISOString();

/** What a job may write; job_runs and admin_actions record each run itself and are left out on purpose. */
const DATA_TABLES = ["instances", "orders", "inbox", "audit_events", "events", "usage_events", "usage_records"] as const;

describe("GET /admin/api/jobs", () => {
  it("lists every scheduled job with its cron, interval, state, lateness and recent runs", async () => {
    const now = Date.now();
    await env.DB.prepare("INSERT INTO job_runs (job, started_at, finished_at, status, counts) VALUES ('usagePush', ?, ?, 'ok', '{\"claimed\":2}')")
      .bind(now - 20 * MINUTE, now - 20 * MINUTE + 1500)
      .run();
    const answer = await adminGet("/admin/api/jobs?runs=3");
    expect(answer.status).toBe(200);
    const { jobs } = JobsAnswer.parse(answer.json);
    expect(jobs.map((job) => job.name)).toEqual(["usageRollup", "usagePush", "webhookSweep", "licenseUsageReport", "usageReconcile", "selfCheck", "cleanup", "selfCheckDaily"]);
    const push = jobs.find((job) => job.name === "usagePush");
    expect(push).toMatchObject({ cron: "*/5 * * * *", everyMinutes: 5, state: "late" });
    expect(push?.lateByMs).toBeGreaterThanOrEqual(15 * MINUTE);
    expect(push?.runs[0]).toMatchObject({ status: "ok", durationMs: 1500, counts: { claimed: 2 } });
    expect((await adminGet("/admin/api/jobs?runs=0")).status).toBe(400);
  });
});

describe("POST /admin/api/jobs/{job}/run", () => {
  it("backfills the roll-up as of a past hour; the same hour again writes nothing", async () => {
    const { h10, instanceId } = await startDayWithInstance(fake());
    await ingest([{ instanceId, quantity: 4, time: h10 + 20 * MINUTE }], h10 + 21 * MINUTE);
    // The cron missed 11:05 (an outage); the operator runs it at 11:40 as of 11:05.
    setClock(h10 + HOUR_MS + 40 * MINUTE);
    const asOf = isoOf(h10 + HOUR_MS + 5 * MINUTE);
    const first = await adminPost(`/admin/api/jobs/usageRollup/run?asOf=${asOf}`);
    expect(first.status, first.text).toBe(200);
    expect(JobRunAnswer.parse(first.json)).toMatchObject({ job: "usageRollup", asOf, run: { status: "ok", counts: { records: 1 } } });
    const records = await recordsOf(instanceId);
    expect(records.map((row) => [row.period_begin, row.usage_value, row.state])).toEqual([[h10, "4", "pending"]]);

    const digest = await tableDigest(DATA_TABLES);
    const second = await adminPost(`/admin/api/jobs/usageRollup/run?asOf=${asOf}`);
    expect(JobRunAnswer.parse(second.json)).toMatchObject({ run: { status: "ok", counts: { records: 0, eventsRolled: 0 } } });
    expect(await tableDigest(DATA_TABLES)).toBe(digest);
    expect((await adminActionsOf("usageRollup")).filter((row) => JSON.parse(row.detail).asOf === asOf)).toHaveLength(2);
  });

  it("runs a job now when no asOf is given", async () => {
    const answer = await adminPost("/admin/api/jobs/webhookSweep/run");
    expect(answer.status).toBe(200);
    expect(JobRunAnswer.parse(answer.json)).toMatchObject({ job: "webhookSweep", run: { status: "ok" } });
  });

  it.each([
    ["an asOf that is not RFC 3339", "usageRollup", "asOf=last-tuesday", 400],
    ["an asOf in the future", "usageRollup", `asOf=${isoOf(Date.now() + HOUR_MS)}`, 400],
    ["a past asOf for a job that only runs as of now", "usagePush", `asOf=${isoOf(Date.now() - HOUR_MS)}`, 400],
    ["an unknown job", "noSuchJob", "", 404],
  ])("%s: refused, and nothing runs", async (_case, job, query, status) => {
    const runs = await env.DB.prepare("SELECT COUNT(*) AS n FROM job_runs").first<{ n: number }>();
    const answer = await adminPost(`/admin/api/jobs/${job}/run${query ? `?${query}` : ""}`);
    expect(answer.status).toBe(status);
    expect(answer.json).toEqual({ error: expect.any(String) });
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM job_runs").first<{ n: number }>()).toEqual(runs);
  });
});
