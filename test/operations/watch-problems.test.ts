import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { type OperationsActor, WATCH_INTERVAL_MS } from "../../src/actor/operations.actor";
import { getOperationsActor } from "../../src/actor/operations.stub";
import { runScheduled } from "../../src/schedule";
import { fetchWith, sendWith } from "../support/kit";
import { callV2, makeNewInstance, signedV2Request } from "../support/marketplace";
import { waitForProblems } from "../support/problems";

/*
 * Problems nobody's request raises: settings.invalid (noticed by /healthz, the admin health and the crons) and
 * job.stale (noticed by the operations actor's self-re-arming alarm, since a stalled cron cannot notice itself).
 */

const BROKEN = { DATA_KEY: "bm90LTMyLWJ5dGVz" };
const ADMIN = { authorization: `Bearer ${env.ADMIN_TOKEN}` };
const MINUTE = 60_000;
const ops = () => getOperationsActor(env);

describe("settings.invalid", () => {
  it("opens when /healthz runs with a broken setting (named, never its value) and clears when it runs with valid ones", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect((await fetchWith(new Request("https://gateway.test/healthz"), BROKEN)).status).toBe(503);
    errors.mockRestore();
    const [row] = await waitForProblems("settings.invalid", "settings", (rows) => rows.length === 1);
    expect(row).toMatchObject({ severity: "critical", resolved_at: null });
    expect(row?.summary).toMatch(/^Setting DATA_KEY must be base64 of exactly 32 bytes.*000005/);
    expect(`${row?.summary} ${row?.detail}`).not.toContain(BROKEN.DATA_KEY);
    await exports.default.fetch("https://gateway.test/healthz");
    await waitForProblems("settings.invalid", "settings", (rows) => rows.length === 1 && rows[0]?.resolved_at !== null);
  });

  it("opens from a cron run with a broken setting", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    await expect(runScheduled({ ...env, ...BROKEN }, "30 3 * * *", Date.now())).rejects.toThrow(/job/);
    errors.mockRestore();
    await waitForProblems("settings.invalid", "settings", (rows) => rows.some((row) => row.resolved_at === null));
    await runScheduled(env, "30 3 * * *", Date.now());
    await waitForProblems("settings.invalid", "settings", (rows) => rows.every((row) => row.resolved_at !== null));
  });

  it("a malformed alert setting turns alerts off, shows in the admin health without degrading it, and callbacks still succeed", async () => {
    const bad = { ALERT_MIN_SEVERITY: "urgent" };
    const health = await fetchWith(new Request("https://gateway.test/admin/api/health", { headers: ADMIN }), bad);
    const body = (await health.json()) as { status: string; settings: unknown; alerts: unknown };
    expect(body.status).toBe("ok");
    expect(body.settings).toBe("ok");
    expect(body.alerts).toEqual({ setting: "ALERT_MIN_SEVERITY", problem: 'must be "warning" or "critical"' });
    const [row] = await waitForProblems("settings.invalid", "alert settings", (rows) => rows.length === 1);
    expect(row).toMatchObject({ severity: "warning", alert_opened: "off" });
    const answer = await sendWith(signedV2Request(makeNewInstance({ testFlag: "1" })), bad, env.SAAS_ACCESS_KEY);
    expect(answer.json.resultCode).toBe("000000");
    expect((await fetchWith(new Request("https://gateway.test/healthz"), bad)).status).toBe(200);
    const fine = (await (await fetchWith(new Request("https://gateway.test/admin/api/health", { headers: ADMIN }), {})).json()) as { alerts: unknown };
    expect(fine.alerts).toBe("off");
    await waitForProblems("settings.invalid", "alert settings", (rows) => rows[0]?.resolved_at !== null);
    expect((await callV2(makeNewInstance({ testFlag: "1" }))).json.resultCode).toBe("000000");
  });
});

describe("job.stale (the operations actor's alarm)", () => {
  const recordRun = (job: string, startedAt: number) =>
    env.DB.prepare("INSERT INTO job_runs (job, started_at, finished_at, status) VALUES (?, ?, ?, 'ok')").bind(job, startedAt, startedAt + 1000).run();

  /** The actor began watching `ago` ms back; its alarm is due now and runs. */
  async function alarmAfterWatching(ago: number): Promise<void> {
    await runInDurableObject(ops(), async (_actor: OperationsActor, state) => {
      state.storage.kv.put("watchingSince", Date.now() - ago);
      await state.storage.setAlarm(Date.now() + WATCH_INTERVAL_MS);
    });
    expect(await runDurableObjectAlarm(ops())).toBe(true);
  }

  beforeEach(async () => {
    await env.DB.prepare("DELETE FROM job_runs").run();
  });

  it("opens for a job not started within twice its interval, not for jobs that never ran since watching began, and re-arms itself", async () => {
    const now = Date.now();
    for (const job of ["usageRollup", "webhookSweep", "licenseUsageReport"]) await recordRun(job, now - MINUTE);
    await recordRun("usagePush", now - 20 * MINUTE);
    // usageReconcile (hourly) and cleanup (daily) never ran; watching began 2 h ago: not yet twice their interval.
    await alarmAfterWatching(120 * MINUTE);
    const [stale] = await waitForProblems("job.stale", "usagePush", (rows) => rows.length === 1);
    expect(stale).toMatchObject({ severity: "critical", resolved_at: null });
    expect(stale?.summary).toMatch(/^Scheduled job usagePush has not run for 20 min \(expected every 5 min\): usage is not pushed/);
    expect((await env.DB.prepare("SELECT subject FROM problems WHERE kind = 'job.stale' AND resolved_at IS NULL").all<{ subject: string }>()).results.map((r) => r.subject)).toEqual(["usagePush"]);
    const alarm = await runInDurableObject(ops(), (_actor: OperationsActor, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now() + WATCH_INTERVAL_MS - MINUTE);
    expect(alarm).toBeLessThanOrEqual(Date.now() + WATCH_INTERVAL_MS);
  });

  it("a job that never ran is stale twice its interval after the watch began; it clears once the job runs", async () => {
    const now = Date.now();
    for (const job of ["usageRollup", "usagePush", "webhookSweep", "licenseUsageReport"]) await recordRun(job, now - MINUTE);
    await alarmAfterWatching(130 * MINUTE);
    const [stale] = await waitForProblems("job.stale", "usageReconcile", (rows) => rows.some((row) => row.resolved_at === null));
    expect(stale?.summary).toMatch(/usageReconcile has not run for 130 min \(expected every 60 min\)/);
    expect(stale?.detail).toMatch(/never ran since the gateway began watching/);
    await recordRun("usageReconcile", Date.now());
    await alarmAfterWatching(130 * MINUTE);
    await waitForProblems("job.stale", "usageReconcile", (rows) => rows.every((row) => row.resolved_at !== null));
  });

  it("each /healthz arms the alarm when it is not armed", async () => {
    await runInDurableObject(ops(), async (_actor: OperationsActor, state) => {
      await state.storage.deleteAlarm();
    });
    await exports.default.fetch("https://gateway.test/healthz");
    const deadline = Date.now() + 3_000;
    let alarm: number | null = null;
    while (alarm === null && Date.now() < deadline) {
      alarm = await runInDurableObject(ops(), (_actor: OperationsActor, state) => state.storage.getAlarm());
      if (alarm === null) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(alarm).not.toBeNull();
  });
});
