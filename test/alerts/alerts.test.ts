import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Problem } from "../../src/admin/admin-api.schema";
import { getOperationsActor } from "../../src/actor/operations.stub";
import { ALERT_RETRY_DELAYS_MS, alertAccepted, alertBody } from "../../src/operations/alerts";
import { clearProblem, reportProblem } from "../../src/operations/problems";
import { uniqueId } from "../support/marketplace";
import { problemRows, waitForProblems } from "../support/problems";

/*
 * Alerts with ALERT_WEBHOOK_URL set (the workers-alerts project): the chat-robot fake in the outbound test service
 * records every message. The operations actor sends them from its alarm, kicked when a problem opens or resolves.
 */

interface Received {
  contentType: string | null;
  body: { type?: string; problem?: { kind: string; subject: string }; text?: string };
}

async function received(): Promise<Received[]> {
  return (await (await fetch("http://127.0.0.1:9/__alerts/__control/received")).json()) as Received[];
}

async function answerNext(answers: Array<{ status: number; body: string }>): Promise<void> {
  await fetch("http://127.0.0.1:9/__alerts/__control/answers", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(answers) });
}

const about = (subject: string) => (all: Received[]) => all.filter((message) => message.body.problem?.subject === subject);

async function waitForAlerts(subject: string, count: number, timeoutMs = 5_000): Promise<Received[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = about(subject)(await received());
    if (mine.length >= count || Date.now() > deadline) return mine;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

describe("alerts", () => {
  it("json: one message when a problem opens and one when it resolves, never per repeat, with the admin link", async () => {
    const subject = uniqueId("job-");
    const report = () => reportProblem(env, { kind: "job.stale", subject, summary: "Scheduled job x has not run for 20 min.", detail: "d" }, Date.now());
    await report();
    await report();
    await report();
    const [opened] = await waitForAlerts(subject, 1);
    await settle();
    expect(await waitForAlerts(subject, 2, 0)).toHaveLength(1);
    expect(opened?.contentType).toMatch(/^application\/json/);
    expect(Object.keys(opened?.body ?? {}).sort()).toEqual(["problem", "text", "type"]);
    expect(opened?.body.type).toBe("problem.opened");
    expect(Problem.parse(opened?.body.problem)).toMatchObject({ kind: "job.stale", subject, state: "open", severity: "critical" });
    expect(opened?.body.text).toMatch(/^KooGallery gateway \[critical\] job\.stale: Scheduled job x has not run for 20 min\. Since \d{4}-\d\d-\d\d \d\d:\d\d UTC(, [23] times)?\. https:\/\/gateway\.example\.com\/admin#jobs$/);
    expect((await problemRows("job.stale", subject))[0]).toMatchObject({ alert_opened: "sent", count: 3 });

    expect(await clearProblem(env, "job.stale", subject, Date.now())).toBe(true);
    expect(await clearProblem(env, "job.stale", subject, Date.now())).toBe(false);
    const both = await waitForAlerts(subject, 2);
    await settle();
    expect(await waitForAlerts(subject, 3, 0)).toHaveLength(2);
    expect(both[1]?.body.type).toBe("problem.resolved");
    expect(both[1]?.body.problem).toMatchObject({ state: "resolved", count: 3 });
    expect(both[1]?.body.text).toMatch(/^KooGallery gateway RESOLVED job\.stale: .* Cleared after \d+ min \(open since .*, 3 times\)\. https:\/\/gateway\.example\.com\/admin#jobs$/);
  });

  it("ALERT_MIN_SEVERITY=critical mutes warnings (shown in the list, not sent) and keeps critical ones", async () => {
    const strict = { ...env, ALERT_MIN_SEVERITY: "critical" };
    const warning = uniqueId("https://backend-");
    const critical = uniqueId("inst");
    await reportProblem(strict, { kind: "delivery.failing", subject: warning, summary: "s", detail: "d" }, Date.now());
    await reportProblem(strict, { kind: "provisioning.failed", subject: critical, summary: "s", detail: "d" }, Date.now());
    expect(await waitForAlerts(critical, 1)).toHaveLength(1);
    await settle();
    expect(about(warning)(await received())).toEqual([]);
    expect((await problemRows("delivery.failing", warning))[0]).toMatchObject({ alert_opened: "muted" });
    await clearProblem(strict, "delivery.failing", warning, Date.now());
    expect((await problemRows("delivery.failing", warning))[0]).toMatchObject({ alert_resolved: "muted" });
  });

  it("an alert that cannot be sent after its retries opens alert.failing, which is announced only when alerts get through again", async () => {
    const subject = uniqueId("inst");
    await answerNext(Array.from({ length: ALERT_RETRY_DELAYS_MS.length + 1 }, () => ({ status: 500, body: "robot down" })));
    await reportProblem(env, { kind: "callback.failed", subject, summary: "newInstance answered 000005.", detail: "d" }, Date.now());
    await waitForProblems("callback.failed", subject, (rows) => rows[0]?.alert_opened === "pending" && (rows[0] as unknown as { alert_attempts: number }).alert_attempts === 1);
    for (let retry = 0; retry < ALERT_RETRY_DELAYS_MS.length; retry += 1) {
      // The retry is due now instead of in minutes; the actor's alarm sends it.
      await env.DB.prepare("UPDATE problems SET alert_next_at = ? WHERE kind = 'callback.failed' AND subject = ?").bind(Date.now(), subject).run();
      await runDurableObjectAlarm(getOperationsActor(env));
    }
    const [failedAlert] = await waitForProblems("callback.failed", subject, (rows) => rows[0]?.alert_opened === "failed");
    expect(failedAlert?.alert_opened).toBe("failed");
    expect(await waitForAlerts(subject, 99, 0)).toHaveLength(ALERT_RETRY_DELAYS_MS.length + 1);
    const [failing] = await waitForProblems("alert.failing", "alert webhook", (rows) => rows.some((row) => row.resolved_at === null));
    expect(failing).toMatchObject({ alert_opened: "off", severity: "warning" });
    expect(failing?.summary).toMatch(/^Alerts cannot be sent to http:\/\/127\.0\.0\.1:9 \(HTTP 500\)/);
    expect(failing?.detail).toContain(subject);

    // The next alert gets through: alert.failing resolves, and that is announced.
    const next = uniqueId("inst");
    await reportProblem(env, { kind: "provisioning.failed", subject: next, summary: "s", detail: "d" }, Date.now());
    expect(await waitForAlerts(next, 1)).toHaveLength(1);
    await waitForProblems("alert.failing", "alert webhook", (rows) => rows.every((row) => row.resolved_at !== null));
    const resolvedFailing = await waitForAlerts("alert webhook", 1);
    expect(resolvedFailing.map((message) => message.body.type)).toEqual(["problem.resolved"]);
  });
});

describe("alert formats", () => {
  const problem = Problem.parse({
    id: 7,
    kind: "usage_push.failing",
    state: "open",
    severity: "critical",
    openedAt: "2026-12-06T10:00:00.000Z",
    lastSeenAt: "2026-12-06T10:05:00.000Z",
    resolvedAt: null,
    count: 2,
    subject: "usage push",
    summary: "Usage push fails.",
    detail: "d",
  });
  const text = "KooGallery gateway [critical] usage_push.failing: Usage push fails.";

  it.each([
    ["json", { type: "problem.opened", problem, text }],
    ["slack", { text }],
    ["wecom", { msgtype: "text", text: { content: text } }],
    ["dingtalk", { msgtype: "text", text: { content: text } }],
    ["feishu", { msg_type: "text", content: { text } }],
  ] as const)("%s: the exact body", (format, body) => {
    expect(alertBody(format, "opened", problem, text)).toStrictEqual(body);
  });

  it("json says problem.resolved for a resolution", () => {
    expect(alertBody("json", "resolved", problem, text)).toStrictEqual({ type: "problem.resolved", problem, text });
  });

  it.each([
    ["wecom", 200, '{"errcode":0,"errmsg":"ok"}', undefined],
    ["wecom", 200, '{"errcode":93000,"errmsg":"invalid webhook url"}', "code 93000: invalid webhook url"],
    ["dingtalk", 200, '{"errcode":310000,"errmsg":"keywords not in content"}', "code 310000: keywords not in content"],
    ["feishu", 200, '{"code":0,"msg":"success"}', undefined],
    ["feishu", 200, '{"code":19024,"msg":"Key Words Not Found"}', "code 19024: Key Words Not Found"],
    ["slack", 200, "ok", undefined],
    ["slack", 400, "invalid_payload", "HTTP 400"],
    ["json", 204, "", undefined],
    ["json", 302, "", "HTTP 302"],
  ] as const)("%s answered %i %s: %s", (format, status, answer, verdict) => {
    expect(alertAccepted(format, status, answer)).toBe(verdict);
  });
});
