import { and, asc, eq, isNotNull, lte, min } from "drizzle-orm";
import { getDb } from "../db/client";
import { type ProblemRow, problems } from "../db/schema/problems";
import { log } from "../observability/log";
import { type AlertFormat, type AlertTarget, alertConfigOf, loudEnough } from "./alert-settings";
import { type ProblemView, clearProblem, problemLink, problemView, reportProblem } from "./problems";

/*
 * Alerts: one message when a problem opens and one when it resolves, to ALERT_WEBHOOK_URL in the format the seller's
 * chat tool reads. Sent by the operations actor's alarm (sendDueAlerts), never on a callback's answer path, and
 * retried: RETRY_DELAYS_MS after each failed attempt, then the alert is `failed` and alert.failing opens.
 */

export const ALERT_TIMEOUT_MS = 10_000;
/** Waits after the 1st, 2nd and 3rd failed attempt: four attempts over about 13 minutes. */
export const ALERT_RETRY_DELAYS_MS = [30_000, 120_000, 600_000] as const;
/** Rows one run looks at; more wait for the next alarm, which comes at once when some are still due. */
const ALERTS_PER_RUN = 20;
const MAX_ANSWER_CHARS = 4_096;

export type AlertEdge = "opened" | "resolved";

function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function duration(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} days`;
}

/**
 * One line a person understands on a phone: what (the summary says what it costs, e.g. the earliest usage deadline),
 * since when, how often, and where to look when PUBLIC_URL is set. Starts with "KooGallery gateway", which also
 * serves as the keyword of a DingTalk or Feishu robot's keyword security setting.
 */
export function alertText(edge: AlertEdge, row: ProblemRow, publicUrl: string | undefined): string {
  const link = publicUrl ? ` ${publicUrl}${problemLink(row.kind, row.subject)}` : "";
  const times = row.count > 1 ? `, ${row.count} times` : "";
  if (edge === "opened") return `KooGallery gateway [${row.severity}] ${row.kind}: ${row.summary} Since ${utc(row.openedAt)}${times}.${link}`;
  const closed = row.resolvedBy === "admin" ? "Closed by the operator" : "Cleared";
  const openFor = row.resolvedAt === null ? "" : ` after ${duration(row.resolvedAt - row.openedAt)}`;
  return `KooGallery gateway RESOLVED ${row.kind}: ${row.summary} ${closed}${openFor} (open since ${utc(row.openedAt)}${times}).${link}`;
}

/** The exact body each format takes (README "Alerts"). */
export function alertBody(format: AlertFormat, edge: AlertEdge, problem: ProblemView, text: string): unknown {
  switch (format) {
    case "json":
      return { type: `problem.${edge}`, problem, text };
    case "slack":
      return { text };
    case "wecom":
    case "dingtalk":
      return { msgtype: "text", text: { content: text } };
    case "feishu":
      return { msg_type: "text", content: { text } };
    default: {
      const unknown: never = format;
      throw new Error(`unknown alert format ${String(unknown)}`);
    }
  }
}

/**
 * WeCom, DingTalk and Feishu robots answer HTTP 200 with an error code in the body (a keyword or signature check that
 * failed, a rate limit): only code 0 is taken. Slack and plain JSON receivers: any 2xx.
 */
export function alertAccepted(format: AlertFormat, status: number, text: string): string | undefined {
  if (status < 200 || status > 299) return `HTTP ${status}`;
  if (format === "json" || format === "slack") return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `HTTP ${status} with an answer that is not JSON`;
  }
  if (typeof body !== "object" || body === null) return `HTTP ${status} with an unexpected answer`;
  const fields = body as Record<string, unknown>;
  const code = format === "feishu" ? (fields.code ?? fields.StatusCode) : fields.errcode;
  if (code === undefined || code === 0) return undefined;
  const message = format === "feishu" ? (fields.msg ?? fields.StatusMessage) : fields.errmsg;
  return `code ${String(code)}: ${String(message ?? "").slice(0, 200)}`;
}

async function post(target: AlertTarget, body: unknown): Promise<string | undefined> {
  try {
    const response = await fetch(target.url, {
      method: "POST",
      headers: { "Content-Type": "application/json; charset=utf-8" },
      body: JSON.stringify(body),
      redirect: "manual",
      signal: AbortSignal.timeout(ALERT_TIMEOUT_MS),
    });
    return alertAccepted(target.format, response.status, (await response.text()).slice(0, MAX_ANSWER_CHARS));
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return timedOut ? `no answer within ${ALERT_TIMEOUT_MS} ms` : `network: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The URL's origin, for messages about it: a chat robot's URL holds its access token in the path or query. */
function originOf(url: string): string {
  return new URL(url).origin;
}

export interface AlertRun {
  sent: number;
  failed: number;
  retrying: number;
  /** When the next pending alert is due; undefined when none is. */
  nextDueAt: number | undefined;
}

/** Sends every alert due at `now`, edge by edge (a problem's opening before its resolution). */
export async function sendDueAlerts(env: Env, now: number): Promise<AlertRun> {
  const db = getDb(env);
  const config = alertConfigOf(env);
  const run: AlertRun = { sent: 0, failed: 0, retrying: 0, nextDueAt: undefined };
  const due = await db.select().from(problems).where(lte(problems.alertNextAt, now)).orderBy(asc(problems.alertNextAt), asc(problems.id)).limit(ALERTS_PER_RUN).all();
  for (const row of due) {
    for (let current: ProblemRow | undefined = row; current; ) current = await sendOne(env, current, now, config, run);
  }
  const next = await db.select({ at: min(problems.alertNextAt) }).from(problems).where(isNotNull(problems.alertNextAt)).get();
  run.nextDueAt = next?.at ?? undefined;
  return run;
}

/** One edge of one row: sent, muted, off, retried later or failed for good. Returns the row again when its other edge is due now. */
async function sendOne(env: Env, row: ProblemRow, now: number, config: ReturnType<typeof alertConfigOf>, run: AlertRun): Promise<ProblemRow | undefined> {
  const db = getDb(env);
  const edge: AlertEdge | undefined = row.alertOpened === "pending" ? "opened" : row.alertResolved === "pending" ? "resolved" : undefined;
  const column = edge === "opened" ? problems.alertOpened : problems.alertResolved;
  // Another edge pending after this one (a problem that resolved before its opening was announced) is due at once.
  const after = edge === "opened" && row.alertResolved === "pending" ? now : null;
  const settle = async (state: "sent" | "failed" | "muted" | "off", error: string | null) => {
    const [updated] = await db
      .update(problems)
      .set({ ...(edge === "opened" ? { alertOpened: state } : { alertResolved: state }), alertAttempts: 0, alertNextAt: after, alertError: error })
      .where(and(eq(problems.id, row.id), eq(column, "pending")))
      .returning();
    return updated?.alertNextAt === null ? undefined : updated;
  };
  if (!edge) {
    await db.update(problems).set({ alertNextAt: null }).where(eq(problems.id, row.id));
    return undefined;
  }
  // Settings changed since the problem opened: alerts turned off or made stricter meanwhile.
  if (config.state !== "on") return settle("off", null);
  if (!loudEnough(row.severity, config.target.minSeverity)) return settle("muted", null);
  const text = alertText(edge, row, config.publicUrl);
  const error = await post(config.target, alertBody(config.target.format, edge, problemView(row), text));
  if (error === undefined) {
    run.sent += 1;
    log("info", "alert.sent", { problemId: row.id, kind: row.kind, edge });
    const again = await settle("sent", null);
    if (row.kind !== "alert.failing") await clearProblem(env, "alert.failing", ALERT_WEBHOOK_SUBJECT, now);
    return again;
  }
  const attempts = row.alertAttempts + 1;
  const delay = ALERT_RETRY_DELAYS_MS[attempts - 1];
  if (delay !== undefined) {
    run.retrying += 1;
    log("warn", "alert.attempt_failed", { problemId: row.id, kind: row.kind, edge, attempts, error });
    await db
      .update(problems)
      .set({ alertAttempts: attempts, alertNextAt: now + delay, alertError: error.slice(0, 500) })
      .where(and(eq(problems.id, row.id), eq(column, "pending")));
    return undefined;
  }
  run.failed += 1;
  log("error", "alert.failed", { problemId: row.id, kind: row.kind, edge, attempts, error });
  const again = await settle("failed", error.slice(0, 500));
  await reportProblem(
    env,
    {
      kind: "alert.failing",
      subject: ALERT_WEBHOOK_SUBJECT,
      summary: `Alerts cannot be sent to ${originOf(config.target.url)} (${error.slice(0, 120)}); problems still show in the admin page.`,
      detail: `The ${edge} alert of problem #${row.id} (${row.kind}, ${row.subject}) was not accepted after ${attempts} attempts: ${error.slice(0, 300)}. Check ALERT_WEBHOOK_URL and ALERT_WEBHOOK_FORMAT, and the robot's security settings (keyword "KooGallery gateway").`,
    },
    now,
  );
  return again;
}

/** alert.failing's one subject: the alert webhook (its URL is a secret of sorts and is never the subject). */
export const ALERT_WEBHOOK_SUBJECT = "alert webhook";
