import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { cleanupJob } from "../../src/jobs/cleanup.job";
import { dueSelfCheckInstancesSql, purgeStatements } from "../../src/operations/self-check/self-check-cleanup";
import { signWebhook } from "../../src/events/webhook-signature";
import { QUERY_ORDER_PATH } from "../../src/marketplace-api/order.api";
import { jobsCheck } from "../../src/operations/self-check/checks/jobs.check";
import { runSelfCheck } from "../../src/operations/self-check/self-check";
import { CHECK_NAMES, type SelfCheckRun } from "../../src/operations/self-check/self-check.types";
import { getDb } from "../../src/db/client";
import { scheduledJobs } from "../../src/schedule";
import { type SeenRequest, mockFetch } from "../marketplace-api/fetch-mock";
import { adminGet, adminPost } from "../support/admin";
import { sellerCall } from "../support/seller-api";

const DAY = 24 * 3600_000;
const WEBHOOK_URL = env.SELLER_WEBHOOK_URL;

/** The captured shape of the mock order's answer (marketplace-open-apis §2.1). */
function mockOrderAnswer(orderId: string): Response {
  return Response.json({
    resultCode: "MKT.0000",
    resultMsg: "success",
    orderInfo: {
      orderId,
      orderType: "NEW",
      createTime: "20241121090846",
      orderLine: [{ orderLineId: `${orderId}-000001`, chargingMode: "PERIOD", periodType: "year", periodNumber: 1, expireTime: "20251121235959", productInfo: [{ productId: "p", skuCode: "s", linearValue: 50 }] }],
      buyerInfo: { customerId: "c", customerName: "n" },
    },
  });
}

interface Outside {
  marketplace?: (request: SeenRequest) => Response;
  webhook?: (request: SeenRequest) => Response;
}

/** The outside world: the Marketplace's open API and the seller's webhook, everything else refused loudly. */
function outside(answers: Outside = {}): SeenRequest[] {
  return mockFetch((request) => {
    if (request.url.pathname === QUERY_ORDER_PATH) return answers.marketplace?.(request) ?? mockOrderAnswer(request.url.searchParams.get("orderId") ?? "");
    if (request.url.href === WEBHOOK_URL) return answers.webhook?.(request) ?? new Response("ok");
    return new Response("unexpected", { status: 599 });
  });
}

const check = (run: SelfCheckRun, name: string) => run.checks.find((one) => one.name === name);

async function feedSeqs(): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM events").first<{ n: number }>();
  return row?.n ?? -1;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("POST /admin/api/self-check", () => {
  it("runs every check, answers each by name, and nothing of it reaches the feed, the webhook or the Marketplace beyond the mock query order and the ping", async () => {
    const calls = outside();
    const eventsBefore = await feedSeqs();
    const feed = await sellerCall("/api/v1/events?limit=500");
    const answer = await adminPost("/admin/api/self-check");
    expect(answer.status).toBe(200);
    const run = answer.json as unknown as SelfCheckRun;
    console.info(`self-check run: durationMs ${run.durationMs} (${run.checks.map((c) => `${c.name} ${c.ms} ms`).join(", ")})`);
    expect(run.checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
    expect(run.checks.filter((c) => !c.ok)).toEqual([]);
    expect(run.ok).toBe(true);
    expect(typeof run.durationMs).toBe("number");
    expect(Date.parse(run.ranAt)).not.toBeNaN();
    for (const name of ["interface.saas", "interface.kit", "interface.license", "interface.orders", "interface.v1", "marketplace.credentials", "seller.webhook", "settings", "jobs"]) {
      expect(check(run, name), name).toMatchObject({ ok: true });
      expect(check(run, name)?.skipped, name).toBeUndefined();
    }
    expect(check(run, "public_url")).toMatchObject({ ok: true, skipped: true });
    expect(check(run, "marketplace.credentials")?.detail).toMatch(/MOCKPERIODYEARNEW.*usage-push key.*no mock/s);
    expect(check(run, "interface.saas")?.detail).toMatch(/newInstance.*queryInstance.*FREEZE.*UNFREEZE.*refreshInstance.*releaseInstance/);

    // Outside: exactly one query order (the mock order) and one ping, nothing else.
    expect(calls.map((c) => `${c.method} ${c.url.origin}${c.url.pathname}`)).toEqual(
      expect.arrayContaining([`GET ${env.MARKETPLACE_API_BASE}${QUERY_ORDER_PATH}`, `POST ${WEBHOOK_URL}`]),
    );
    expect(calls).toHaveLength(2);
    expect(calls.find((c) => c.url.pathname === QUERY_ORDER_PATH)?.url.searchParams.get("orderId")).toBe("MOCKPERIODYEARNEW");
    const ping = calls.find((c) => c.url.href === WEBHOOK_URL);
    const pinged = JSON.parse(ping?.text ?? "{}") as { id: string; type: string };
    expect(pinged.type).toBe("gateway.ping");
    const id = ping?.headers.get("webhook-id") ?? "";
    const timestamp = Number(ping?.headers.get("webhook-timestamp"));
    expect(id).toBe(pinged.id);
    expect(ping?.headers.get("webhook-signature")).toBe(signWebhook(env.SELLER_WEBHOOK_SECRET, id, timestamp, ping?.text ?? ""));

    // Nothing in the outbox, so nothing in the feed, and no seller-visible instance.
    expect(await feedSeqs()).toBe(eventsBefore);
    const feedAfter = await sellerCall(`/api/v1/events?limit=500&after=${String(feed.json.nextCursor)}`);
    expect(feedAfter.json.events).toEqual([]);
    const instances = await env.DB.prepare("SELECT order_id, is_test FROM instances WHERE order_id LIKE 'SELFCHECK-%'").all<{ order_id: string; is_test: number }>();
    expect(instances.results).toHaveLength(2);
    expect(instances.results.every((row) => row.is_test === 1)).toBe(true);
    const sellerList = await sellerCall("/api/v1/instances?test=true&limit=500");
    expect(JSON.stringify(sellerList.json)).not.toContain("SELFCHECK-");
    const orders = await sellerCall("/api/v1/orders?limit=500");
    expect(JSON.stringify(orders.json)).not.toContain("SELFCHECK-");

    // Recorded: GET answers the run and its history; the admin action is recorded.
    const stored = await adminGet("/admin/api/self-check");
    expect(stored.json.last).toEqual(run);
    expect((stored.json.history as Array<{ ok: boolean }>)[0]).toEqual({ ranAt: run.ranAt, ok: true });
    const action = await env.DB.prepare("SELECT detail FROM admin_actions WHERE action = 'selfCheck' ORDER BY id DESC LIMIT 1").first<{ detail: string }>();
    expect(JSON.parse(action?.detail ?? "{}")).toEqual({ ok: true, failed: [] });
  });

  it("GET answers the history newest first, at most 20 runs", async () => {
    outside();
    for (let i = 0; i < 3; i += 1) await runSelfCheck(env, Date.now() + i, { scope: "hourly", jobs: scheduledJobs() });
    const answer = await adminGet("/admin/api/self-check");
    const history = answer.json.history as Array<{ ranAt: string; ok: boolean }>;
    expect(history.length).toBeGreaterThanOrEqual(3);
    expect(history.length).toBeLessThanOrEqual(20);
    expect([...history].sort((a, b) => b.ranAt.localeCompare(a.ranAt))).toEqual(history);
  });
});

describe("marketplace.credentials", () => {
  const run = () => runSelfCheck(env, Date.now(), { scope: "hourly", jobs: scheduledJobs() });

  it("an auth failure says to fix the keys", async () => {
    outside({ marketplace: () => Response.json({ error_code: "APIGW.0301", error_msg: "Incorrect IAM authentication information" }, { status: 401 }) });
    const result = check(await run(), "marketplace.credentials");
    expect(result).toMatchObject({ ok: false });
    expect(result?.detail).toContain("APIGW.0301");
    expect(result?.fix).toMatch(/MARKETPLACE_AK and MARKETPLACE_SK/);
  });

  it("a DNS or connection failure says to fix MARKETPLACE_API_BASE", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new Request(input, init).url;
      if (url.startsWith(env.MARKETPLACE_API_BASE)) throw new TypeError("getaddrinfo ENOTFOUND mkt.example.invalid");
      return new Response("ok");
    });
    const result = check(await run(), "marketplace.credentials");
    expect(result).toMatchObject({ ok: false });
    expect(result?.fix).toMatch(/MARKETPLACE_API_BASE/);
  });

  it("a clock skew refusal says to fix the machine's clock", async () => {
    outside({ marketplace: () => Response.json({ error_code: "APIGW.0303", error_msg: "X-Sdk-Date is more than 15 minutes from server time" }, { status: 401 }) });
    const result = check(await run(), "marketplace.credentials");
    expect(result).toMatchObject({ ok: false });
    expect(result?.fix).toMatch(/clock/);
  });
});

describe("settings, seller.webhook, public_url, skips", () => {
  it("a broken setting fails settings by name and skips the checks that need it", async () => {
    const calls = outside();
    const run = await runSelfCheck({ ...env, DATA_KEY: "not-base64-32" }, Date.now(), { scope: "full", jobs: scheduledJobs() });
    expect(run.ok).toBe(false);
    expect(check(run, "settings")).toMatchObject({ ok: false, detail: expect.stringContaining("DATA_KEY"), fix: expect.stringContaining("DATA_KEY") });
    expect(check(run, "interface.saas")).toMatchObject({ ok: true, skipped: true, detail: expect.stringContaining("DATA_KEY") });
    expect(check(run, "marketplace.credentials")).toMatchObject({ skipped: true });
    expect(JSON.stringify(run)).not.toContain("not-base64-32");
    expect(calls).toHaveLength(0);
  });

  it("a webhook answering 500 fails seller.webhook; no URL skips it", async () => {
    outside({ webhook: () => new Response("boom", { status: 500 }) });
    const failing = await runSelfCheck(env, Date.now(), { scope: "hourly", jobs: scheduledJobs() });
    expect(check(failing, "seller.webhook")).toMatchObject({ ok: false, detail: expect.stringContaining("HTTP 500"), fix: expect.stringContaining("2xx") });
    expect(failing.ok).toBe(false);

    const calls = outside();
    const without = await runSelfCheck({ ...env, SELLER_WEBHOOK_URL: "" }, Date.now(), { scope: "hourly", jobs: scheduledJobs() });
    expect(check(without, "seller.webhook")).toMatchObject({ ok: true, skipped: true });
    expect(calls.map((c) => c.url.pathname)).toEqual([QUERY_ORDER_PATH]);
  });

  it("public_url is skipped without SSO; with SSO it must be set, https unless loopback", async () => {
    outside();
    const opts = { scope: "hourly" as const, jobs: scheduledJobs() };
    const sso = { ...env, OIDC_CLIENT_ID: "client" };
    expect(check(await runSelfCheck(sso, Date.now(), opts), "public_url")).toMatchObject({ ok: false, fix: expect.stringContaining("PUBLIC_URL") });
    expect(check(await runSelfCheck({ ...sso, PUBLIC_URL: "http://gateway.example.com" }, Date.now(), opts), "public_url")).toMatchObject({ ok: false });
    expect(check(await runSelfCheck({ ...sso, PUBLIC_URL: "http://127.0.0.1:8787" }, Date.now(), opts), "public_url")).toMatchObject({ ok: true });
    expect(check(await runSelfCheck({ ...sso, PUBLIC_URL: "https://gateway.example.com" }, Date.now(), opts), "public_url")).toMatchObject({ ok: true });
    expect((await runSelfCheck(sso, Date.now(), opts)).checks.find((c) => c.name === "public_url")?.skipped).toBeUndefined();
    // PUBLIC_URL is a setting too: when set, an origin (the settings check names it).
    const withPath = await runSelfCheck({ ...env, PUBLIC_URL: "https://gateway.example.com/admin" }, Date.now(), opts);
    expect(check(withPath, "settings")).toMatchObject({ ok: false, detail: expect.stringContaining("PUBLIC_URL must be an origin") });
  });

  it("an interface whose key is not set is skipped with the reason; V1 off skips interface.v1", async () => {
    outside();
    const run = await runSelfCheck({ ...env, KIT_ACCESS_KEY: "", LICENSE_ACCESS_KEY: "", GENERAL_ACCESS_KEY: "", ENABLE_V1: "false" }, Date.now(), { scope: "full", jobs: scheduledJobs() });
    expect(check(run, "interface.kit")).toMatchObject({ ok: true, skipped: true, detail: expect.stringContaining("KIT_ACCESS_KEY") });
    expect(check(run, "interface.license")).toMatchObject({ skipped: true, detail: expect.stringContaining("LICENSE_ACCESS_KEY") });
    expect(check(run, "interface.orders")).toMatchObject({ skipped: true, detail: expect.stringContaining("GENERAL_ACCESS_KEY") });
    expect(check(run, "interface.v1")).toMatchObject({ skipped: true, detail: expect.stringContaining("ENABLE_V1") });
    expect(check(run, "interface.saas")).toMatchObject({ ok: true });
    expect(check(run, "interface.saas")?.skipped).toBeUndefined();
  });
});

describe("interface checks failing", () => {
  it("a case answered other than the debugger expects fails its check, naming the case, the ids and what to fix", async () => {
    outside();
    // The instance actors unreachable: the gateway answers newInstance with its internal error 000005.
    const down = {
      idFromName: (name: string) => env.INSTANCES.idFromName(name),
      get: () => ({ apply: () => Promise.reject(new Error("actor unreachable")) }),
    } as unknown as Env["INSTANCES"];
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const run = await runSelfCheck({ ...env, INSTANCES: down }, Date.now(), { scope: "full", jobs: scheduledJobs() });
    expect(run.ok).toBe(false);
    const saas = check(run, "interface.saas");
    expect(saas).toMatchObject({ ok: false, fix: expect.stringContaining("000005") });
    expect(saas?.detail).toMatch(/newInstance failed: resultCode 000005, expected 000000.*order SELFCHECK-[0-9A-F]+/);
    expect(check(run, "interface.orders")).toMatchObject({ ok: true });
  });
});

describe("jobs", () => {
  const job = { name: "selfCheckProbeJob", everyMs: 5 * 60_000 };
  const now = Date.UTC(2027, 1, 1, 12);

  it("a job that never ran fails only twice its interval after the first self-check", async () => {
    const db = getDb(env);
    expect(await jobsCheck(db, now, [job], now - 9 * 60_000)).toMatchObject({ ok: true });
    expect(await jobsCheck(db, now, [job], now - 11 * 60_000)).toMatchObject({ ok: false, detail: expect.stringContaining("never ran") });
  });

  it("a stale job fails, a fresh one passes", async () => {
    await env.DB.prepare("INSERT INTO job_runs (job, started_at, finished_at, status) VALUES (?, ?, ?, 'ok')").bind(job.name, now - 11 * 60_000, now - 11 * 60_000).run();
    const db = getDb(env);
    const stale = await jobsCheck(db, now, [job], now - DAY);
    expect(stale).toMatchObject({ ok: false, detail: expect.stringContaining("selfCheckProbeJob last started 11 min ago"), fix: expect.stringContaining("wrangler.toml") });
    expect(await jobsCheck(db, now - 2 * 60_000, [job], now - DAY)).toMatchObject({ ok: true });
  });
});

describe("the crons", () => {
  it("the hourly cron runs the traceless checks only and records the run; the daily one runs them all", async () => {
    const calls = outside();
    const instancesBefore = await env.DB.prepare("SELECT count(*) AS n FROM instances").first<{ n: number }>();
    const hourlyAt = Date.now();
    await worker.scheduled(createScheduledController({ cron: "7 * * * *", scheduledTime: hourlyAt }), env);
    const hourly = (await adminGet("/admin/api/self-check")).json.last as SelfCheckRun;
    expect(hourly.ranAt).toBe(new Date(hourlyAt).toISOString());
    for (const name of ["interface.saas", "interface.kit", "interface.license", "interface.orders", "interface.v1"]) expect(check(hourly, name)).toMatchObject({ skipped: true });
    expect(await env.DB.prepare("SELECT count(*) AS n FROM instances").first<{ n: number }>()).toEqual(instancesBefore);
    expect(calls.map((c) => c.url.pathname).sort()).toEqual([QUERY_ORDER_PATH, new URL(WEBHOOK_URL).pathname].sort());
    const jobRun = await env.DB.prepare("SELECT status, counts FROM job_runs WHERE job = 'selfCheck' AND started_at = ?").bind(hourlyAt).first<{ status: string; counts: string }>();
    expect(jobRun?.status).toBe("ok");

    const dailyAt = hourlyAt + 1;
    await worker.scheduled(createScheduledController({ cron: "30 3 * * *", scheduledTime: dailyAt }), env);
    const daily = (await adminGet("/admin/api/self-check")).json.last as SelfCheckRun;
    expect(check(daily, "interface.saas")).toMatchObject({ ok: true });
    expect(check(daily, "interface.saas")?.skipped).toBeUndefined();
  });
});

describe("clean-up of the self-check's data", () => {
  const SELF_CHECK_ROWS = `
    SELECT (SELECT count(*) FROM instances WHERE order_id LIKE 'SELFCHECK-%')
         + (SELECT count(*) FROM inbox WHERE instance_id IN (SELECT id FROM instances WHERE order_id LIKE 'SELFCHECK-%') OR instance_id LIKE 'SELFCHECK-%' OR idempotency_key LIKE '%SELFCHECK-%')
         + (SELECT count(*) FROM audit_events WHERE instance_id IN (SELECT id FROM instances WHERE order_id LIKE 'SELFCHECK-%'))
         + (SELECT count(*) FROM kit_tenants WHERE tenant_id LIKE 'SELFCHECK-%') + (SELECT count(*) FROM kit_users WHERE tenant_id LIKE 'SELFCHECK-%')
         + (SELECT count(*) FROM license_codes WHERE code LIKE 'SELFCHECK-%') + (SELECT count(*) FROM general_orders WHERE order_id LIKE 'SELFCHECK-%') AS n`;
  const selfCheckRows = async () => (await env.DB.prepare(SELF_CHECK_ROWS).first<{ n: number }>())?.n ?? -1;
  const auditRows = async () => (await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE instance_id IN (SELECT id FROM instances WHERE order_id LIKE 'SELFCHECK-%')").first<{ n: number }>())?.n ?? -1;

  it("deletes instances, inbox, audit, kit, license-code and order rows a day after the run, and nothing else", async () => {
    outside();
    const otherDebug = await env.DB.prepare("SELECT count(*) AS n FROM instances WHERE order_id NOT LIKE 'SELFCHECK-%'").first<{ n: number }>();
    const ranAt = Date.now();
    const run = await runSelfCheck(env, ranAt, { scope: "full", jobs: scheduledJobs() });
    expect(run.ok).toBe(true);
    expect(await auditRows()).toBeGreaterThan(0);
    const made = await selfCheckRows();
    expect(made).toBeGreaterThan(10);

    await cleanupJob(env, ranAt + DAY - 60 * 60_000);
    expect(await selfCheckRows()).toBe(made);

    const counts = await cleanupJob(env, Date.now() + DAY + 60_000);
    expect(counts.selfCheckInstancesDeleted).toBeGreaterThanOrEqual(2);
    expect(await selfCheckRows()).toBe(0);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM instances WHERE order_id NOT LIKE 'SELFCHECK-%'").first<{ n: number }>()).toEqual(otherDebug);
  });

  it("finds the self-check's rows through indexes, never a table scan", async () => {
    const dialect = new SQLiteAsyncDialect();
    for (const statement of [dueSelfCheckInstancesSql(1), ...purgeStatements(1, ["a", "b"])]) {
      const { sql: text, params } = dialect.sqlToQuery(statement);
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${text}`).bind(...params).all<{ detail: string }>();
      const details = plan.results.map((row) => row.detail).join(" | ");
      expect(details, text).toMatch(/USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY|USING PRIMARY KEY/);
      expect(details, text).not.toMatch(/^SCAN|\| SCAN/);
    }
  });
});
