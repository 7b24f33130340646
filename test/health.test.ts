import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import packageJson from "../package.json";
import { fetchWith } from "./support/kit";

const JOBS = ["usageRollup", "usagePush", "webhookSweep", "licenseUsageReport", "usageReconcile", "selfCheck", "cleanup", "selfCheckDaily"];
const BROKEN = { DATA_KEY: "bm90LTMyLWJ5dGVz" };
const ADMIN = { authorization: `Bearer ${env.ADMIN_TOKEN}` };

async function recordRun(job: string, startedAt: number, status: "ok" | "failed" | "running", error: string | null = null): Promise<void> {
  await env.DB.prepare("INSERT INTO job_runs (job, started_at, finished_at, status, error) VALUES (?, ?, ?, ?, ?)")
    .bind(job, startedAt, status === "running" ? null : startedAt + 1000, status, error)
    .run();
}

// Storage is per file, not per test: every test starts from no job history.
beforeEach(async () => {
  await env.DB.prepare("DELETE FROM job_runs").run();
});

describe("GET /healthz (public)", () => {
  it("answers 200 with status, version and ok per job, and nothing else", async () => {
    const response = await exports.default.fetch("http://gateway.test/healthz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", version: packageJson.version, jobs: Object.fromEntries(JOBS.map((job) => [job, "ok"])) });
  });

  it("answers 503 when a setting is broken, without naming it", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const response = await fetchWith(new Request("https://gateway.test/healthz"), BROKEN);
    const text = await response.text();
    expect(response.status).toBe(503);
    expect(JSON.parse(text)).toEqual({ status: "degraded", version: packageJson.version, jobs: Object.fromEntries(JOBS.map((job) => [job, "ok"])) });
    expect(text).not.toMatch(/DATA_KEY|setting|base64/);
    errors.mockRestore();
  });

  it("answers 503 with the job late when its last run failed, without the error text", async () => {
    await recordRun("usagePush", Date.now() - 60_000, "failed", "MarketplaceApiError: CBC.0154 illegal token for AK TESTAK");
    const response = await exports.default.fetch("http://gateway.test/healthz");
    const text = await response.text();
    expect(response.status).toBe(503);
    expect(JSON.parse(text)).toMatchObject({ status: "degraded", jobs: { usagePush: "late", usageRollup: "ok" } });
    expect(text).not.toMatch(/CBC|token|TESTAK/);
  });

  it("counts a job late when it has not started for twice its interval plus a minute", async () => {
    const now = Date.now();
    await recordRun("usageRollup", now - 10 * 60_000 - 30_000, "ok");
    await recordRun("usagePush", now - 10 * 60_000 - 90_000, "ok");
    await recordRun("webhookSweep", now - 60_000, "ok");
    await recordRun("licenseUsageReport", now - 60_000, "ok");
    await recordRun("cleanup", now - 49 * 3600_000, "running");
    const body = (await (await exports.default.fetch("http://gateway.test/healthz")).json()) as { jobs: Record<string, string> };
    expect(body.jobs).toEqual({ usageRollup: "ok", usagePush: "late", webhookSweep: "ok", licenseUsageReport: "ok", usageReconcile: "ok", selfCheck: "ok", cleanup: "late", selfCheckDaily: "ok" });
  });
});

describe("GET /admin/api/health (ADMIN_TOKEN)", () => {
  it.each([
    ["no header", {}],
    ["a wrong token", { authorization: "Bearer wrong-token" }],
    ["the token as another scheme", { authorization: `Basic ${env.ADMIN_TOKEN}` }],
    ["the seller's token", { authorization: `Bearer ${env.SELLER_API_TOKEN}` }],
    ["a prefix of the token", { authorization: `Bearer ${env.ADMIN_TOKEN.slice(0, -1)}` }],
  ])("refuses %s with 401 JSON", async (_case, headers) => {
    const response = await exports.default.fetch("http://gateway.test/admin/api/health", { headers });
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: expect.any(String) });
  });

  it("refuses everyone while ADMIN_TOKEN is empty", async () => {
    const response = await fetchWith(new Request("https://gateway.test/admin/api/health", { headers: { authorization: "Bearer " } }), { ADMIN_TOKEN: "" });
    expect(response.status).toBe(401);
  });

  it("shows which setting is wrong and why, never its value, even while settings are broken", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const response = await fetchWith(new Request("https://gateway.test/admin/api/health", { headers: ADMIN }), BROKEN);
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(JSON.parse(text)).toMatchObject({
      status: "degraded",
      version: packageJson.version,
      settings: { setting: "DATA_KEY", problem: "must be base64 of exactly 32 bytes (openssl rand -base64 32)" },
    });
    expect(text).not.toContain(BROKEN.DATA_KEY);
    errors.mockRestore();
  });

  it("shows each job's last run and latest errors", async () => {
    const now = Date.now();
    await recordRun("usagePush", now - 20 * 60_000, "failed", "first failure");
    await recordRun("usagePush", now - 60_000, "failed", "second failure");
    await recordRun("usageRollup", now - 60_000, "ok");
    const response = await exports.default.fetch("http://gateway.test/admin/api/health", { headers: ADMIN });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { settings: unknown; jobs: Record<string, unknown> };
    expect(body.settings).toBe("ok");
    expect(body.jobs.usagePush).toMatchObject({
      state: "late",
      everyMinutes: 5,
      lastRun: { status: "failed", error: "second failure", startedAt: new Date(now - 60_000).toISOString() },
      recentErrors: [{ error: "second failure" }, { error: "first failure" }],
    });
    expect(body.jobs.usageRollup).toMatchObject({ state: "ok", lastRun: { status: "ok", error: null }, recentErrors: [] });
    expect(body.jobs.cleanup).toMatchObject({ state: "ok", lastRun: null });
  });
});

it("answers 404 for unknown routes", async () => {
  const response = await exports.default.fetch("http://gateway.test/nope");
  expect(response.status).toBe(404);
});
