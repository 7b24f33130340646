import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Problem, ResolveProblemAnswer } from "../../src/admin/admin-api.schema";
import { CLEARING_KINDS, FINAL_KINDS, ProblemKind, SEVERITY } from "../../src/operations/problem-kinds";
import { clearProblem, inBackground, reportProblem } from "../../src/operations/problems";
import { cleanupJob } from "../../src/jobs/cleanup.job";
import { adminActionsOf, adminCall, tableDigest } from "../support/admin";
import { uniqueId } from "../support/marketplace";
import { listedProblems, problemRows } from "../support/problems";

const report = (kind: ProblemKind, subject: string, summary = "something is wrong") => reportProblem(env, { kind, subject, summary, detail: "detail" }, Date.now());

describe("the problem kinds", () => {
  it("are exactly the thirteen of the contract, seven that clear and six final, each with a severity", () => {
    expect([...CLEARING_KINDS].sort()).toEqual(
      ["query_order.failing", "delivery.failing", "usage_push.failing", "job.stale", "self_check.failed", "settings.invalid", "alert.failing"].sort(),
    );
    expect([...FINAL_KINDS].sort()).toEqual(
      ["callback.failed", "provisioning.failed", "delivery.failed", "usage_push.expired", "usage.rejected", "license.delivery_failed"].sort(),
    );
    expect(ProblemKind.options).toHaveLength(13);
    expect(Object.keys(SEVERITY).sort()).toEqual([...ProblemKind.options].sort());
    expect(ProblemKind.safeParse("query_order.failed").success).toBe(false);
  });
});

describe("reportProblem and clearProblem", () => {
  it("opens a problem once and counts repeats on it, with the latest summary", async () => {
    const subject = uniqueId("job-");
    const first = await report("job.stale", subject, "first");
    const second = await report("job.stale", subject, "second");
    expect(first.opened).toBe(true);
    expect(second).toEqual({ opened: false, id: first.id });
    const [row, ...others] = await problemRows("job.stale", subject);
    expect(others).toEqual([]);
    expect(row).toMatchObject({ count: 2, summary: "second", severity: "critical", resolved_at: null, alert_opened: "off" });
  });

  it("clears a clearing kind once, and a repeat after that opens a new problem", async () => {
    const subject = uniqueId("job-");
    const { id } = await report("job.stale", subject);
    expect(await clearProblem(env, "job.stale", subject, Date.now())).toBe(true);
    expect(await clearProblem(env, "job.stale", subject, Date.now())).toBe(false);
    const reopened = await report("job.stale", subject);
    expect(reopened.opened).toBe(true);
    expect(reopened.id).not.toBe(id);
    const rows = await problemRows("job.stale", subject);
    expect(rows.map((row) => [row.id, row.resolved_at === null, row.resolved_by])).toEqual([
      [id, false, "gateway"],
      [reopened.id, true, null],
    ]);
  });

  it("never clears a final outcome by itself: only a person resolves it", async () => {
    const subject = uniqueId("inst");
    await report("provisioning.failed", subject);
    expect(await clearProblem(env, "provisioning.failed", subject, Date.now())).toBe(false);
    expect((await problemRows("provisioning.failed", subject))[0]?.resolved_at).toBeNull();
  });
});

describe("GET /admin/api/problems", () => {
  it("lists open problems by default, newest first, in the contract's exact shape", async () => {
    const older = await reportProblem(env, { kind: "delivery.failed", subject: uniqueId("https://a"), summary: "older", detail: "d" }, Date.now() - 60_000);
    const newer = await report("usage.rejected", uniqueId("MKT."));
    const problems = await listedProblems();
    const ids = problems.map((problem) => problem.id);
    expect(ids.indexOf(newer.id)).toBeLessThan(ids.indexOf(older.id));
    const shown = problems.find((problem) => problem.id === newer.id);
    expect(Object.keys(shown ?? {}).sort()).toEqual(["count", "detail", "id", "kind", "lastSeenAt", "openedAt", "resolvedAt", "severity", "state", "subject", "summary"]);
    expect(shown).toMatchObject({ kind: "usage.rejected", state: "open", severity: "warning", count: 1, resolvedAt: null });
  });

  it("filters by state: open, resolved, all", async () => {
    const subject = uniqueId("job-");
    const { id } = await report("job.stale", subject);
    await clearProblem(env, "job.stale", subject, Date.now());
    expect((await listedProblems("open")).map((p) => p.id)).not.toContain(id);
    expect((await listedProblems("resolved")).find((p) => p.id === id)).toMatchObject({ state: "resolved", resolvedAt: expect.any(String) });
    expect((await listedProblems("all")).map((p) => p.id)).toContain(id);
  });

  it.each([
    ["an unknown state", "?state=closed", /state/],
    ["an unknown parameter", "?kind=job.stale", /kind/],
    ["a limit out of range", "?limit=0", /limit/],
  ])("refuses %s with 400 and the reason", async (_case, query, reason) => {
    const answer = await adminCall(`/admin/api/problems${query}`);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(reason);
  });

  it("needs the admin token", async () => {
    expect((await adminCall("/admin/api/problems", { authorization: null })).status).toBe(401);
    expect((await adminCall("/admin/api/problems", { authorization: `Bearer ${env.SELLER_API_TOKEN}` })).status).toBe(401);
  });
});

describe("POST /admin/api/problems/{id}/resolve", () => {
  const resolve = (id: number | string, body: unknown, contentType?: string) =>
    adminCall(`/admin/api/problems/${id}/resolve`, { method: "POST", body, ...(contentType ? { contentType } : {}) });

  it("closes a final outcome with the note, recorded as an admin action in the same batch", async () => {
    const subject = uniqueId("inst");
    const { id } = await report("callback.failed", subject);
    const answer = await resolve(id, { note: "dial test case fixed in the seller centre" });
    expect(answer.status).toBe(200);
    const { problem } = ResolveProblemAnswer.parse(answer.json);
    expect(Problem.parse(problem)).toMatchObject({ id, state: "resolved", resolvedAt: expect.any(String), kind: "callback.failed", subject });
    const [row] = await problemRows("callback.failed", subject);
    expect(row).toMatchObject({ resolved_by: "admin" });
    const actions = await adminActionsOf(String(id));
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ actor: "admin", action: "resolveProblem" });
    expect(JSON.parse(actions[0]?.detail ?? "{}")).toEqual({ kind: "callback.failed", note: "dial test case fixed in the seller centre" });
    // The same final outcome again is a new problem, not the closed one reopened.
    expect((await report("callback.failed", subject)).opened).toBe(true);
  });

  it("answers 409 for a problem already resolved, and records nothing more", async () => {
    const { id } = await report("usage_push.expired", uniqueId("usage "));
    expect((await resolve(id, { note: "corrected" })).status).toBe(200);
    const again = await resolve(id, { note: "again" });
    expect(again.status).toBe(409);
    expect(again.json.error).toMatch(/already resolved/);
    expect(await adminActionsOf(String(id))).toHaveLength(1);
  });

  it("answers 404 for an unknown id", async () => {
    const answer = await resolve(987654321, { note: "x" });
    expect(answer.status).toBe(404);
    expect(answer.json.error).toMatch(/987654321/);
  });

  it.each([
    ["no note", {}, undefined, /note/],
    ["an empty note", { note: "   " }, undefined, /note/],
    ["a note that is not text", { note: 5 }, undefined, /note/],
    ["an unknown field", { note: "ok", by: "me" }, undefined, /by/],
    ["a body that is not JSON", "note=ok", "application/x-www-form-urlencoded", /application\/json/],
    ["a non-numeric id", "abc", undefined, /problem id/],
  ])("refuses %s with 400 and changes nothing", async (_case, body, contentType, reason) => {
    const { id } = await report("delivery.failed", uniqueId("https://b"));
    const before = await tableDigest(["problems", "admin_actions"]);
    const answer = _case === "a non-numeric id" ? await resolve("abc", { note: "ok" }) : await resolve(id, body, contentType);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(reason);
    expect(await tableDigest(["problems", "admin_actions"])).toBe(before);
  });
});

describe("clean-up of resolved problems", () => {
  it("deletes problems resolved more than 90 days ago, never open ones", async () => {
    const old = uniqueId("job-");
    const open = uniqueId("job-");
    const longAgo = Date.now() - 100 * 24 * 3600_000;
    await reportProblem(env, { kind: "job.stale", subject: old, summary: "s", detail: "d" }, longAgo);
    await clearProblem(env, "job.stale", old, longAgo + 1000);
    await reportProblem(env, { kind: "job.stale", subject: open, summary: "s", detail: "d" }, longAgo);
    const counts = await cleanupJob(env, Date.now());
    expect(counts.problemsDeleted).toBeGreaterThanOrEqual(1);
    expect(await problemRows("job.stale", old)).toEqual([]);
    expect(await problemRows("job.stale", open)).toHaveLength(1);
  });
});

describe("inBackground", () => {
  it("tries a clearing again after a passing D1 error, so the problem does not stay open for good", async () => {
    const subject = uniqueId("job-");
    await report("job.stale", subject);
    let attempts = 0;
    const pending: Promise<unknown>[] = [];
    inBackground(
      (promise) => pending.push(promise),
      async () => {
        attempts += 1;
        if (attempts === 1) throw new Error("D1_ERROR: a passing write failure");
        return clearProblem(env, "job.stale", subject, Date.now());
      },
    );
    await Promise.all(pending);
    expect(attempts).toBe(2);
    expect((await problemRows("job.stale", subject)).map((row) => row.resolved_at !== null)).toEqual([true]);
  });
});
