import { type SQL, and, desc, eq, isNotNull, isNull, sql } from "drizzle-orm";
import { getOperationsActor } from "../actor/operations.stub";
import { type AdminActionRecord, adminActionIfChanged, logAdminAction } from "../admin/admin-audit";
import { type Db, getDb } from "../db/client";
import { type AlertState, type ProblemRow, problems } from "../db/schema/problems";
import { log } from "../observability/log";
import { type AlertConfig, alertConfigOf, loudEnough } from "./alert-settings";
import { PLACE, type ProblemKind, type ProblemSeverity, SEVERITY, clearsByItself } from "./problem-kinds";

/*
 * The problems list (README "Operate it"): one open row per kind and subject. Producers call
 *
 *   reportProblem(env, { kind, subject, summary, detail, severity? }, now) → { opened, id }
 *     opens the problem, or counts a repeat on the open one (count + 1, lastSeenAt, the latest summary and detail);
 *   clearProblem(env, kind, subject, now) → whether it resolved one
 *     resolves the open problem of a kind that clears by itself (problem-kinds.ts); a no-op for a final outcome,
 *     which only a person resolves (resolveProblemByAdmin, POST /admin/api/problems/{id}/resolve).
 *
 * Both are stable API for every producer (the self-check reports `self_check.failed` with subject "self-check").
 * Neither throws for a condition that is already in the state asked for, and neither may run on a Marketplace
 * callback's answer path: callers use ctx.waitUntil, or a background task of their actor (see `inBackground`).
 *
 * An alert is owed once per edge, opened and resolved, never per repeat: the row carries each edge's alert state,
 * written in the same statement as the edge, and the operations actor (src/actor/operations.actor.ts) sends what is
 * pending and retries it. Summaries and details hold ids, codes and counts: never a secret or a personal field.
 */

export interface ProblemReport {
  kind: ProblemKind;
  /** What it is about: an instance id, a job name, the seller backend's origin, … (per kind: README). */
  subject: string;
  /** One line for a person: what, and what it costs. */
  summary: string;
  detail: string;
  /** Defaults to the kind's (problem-kinds.ts SEVERITY). */
  severity?: ProblemSeverity;
}

const SUMMARY_MAX = 300;
const DETAIL_MAX = 2_000;

/** The problem as GET /admin/api/problems shows it. */
export interface ProblemView {
  id: number;
  kind: string;
  state: "open" | "resolved";
  severity: ProblemSeverity;
  openedAt: string;
  lastSeenAt: string;
  resolvedAt: string | null;
  count: number;
  subject: string;
  summary: string;
  detail: string;
}

export function problemView(row: ProblemRow): ProblemView {
  return {
    id: row.id,
    kind: row.kind,
    state: row.resolvedAt === null ? "open" : "resolved",
    severity: row.severity,
    openedAt: new Date(row.openedAt).toISOString(),
    lastSeenAt: new Date(row.lastSeenAt).toISOString(),
    resolvedAt: row.resolvedAt === null ? null : new Date(row.resolvedAt).toISOString(),
    count: row.count,
    subject: row.subject,
    summary: row.summary,
    detail: row.detail,
  };
}

/** The admin page's place for a problem (its instance timeline, the deliveries, the jobs, …): also the alert's link. */
export function problemLink(kind: ProblemKind | string, subject: string): string {
  const place = PLACE[kind as ProblemKind] ?? "health";
  if (place === "instance" && INSTANCE_SUBJECT.test(subject)) return `/admin#instance=${encodeURIComponent(subject)}`;
  return place === "instance" || place === "health" ? "/admin#problems" : `/admin#${place}`;
}

/** Subjects that name an instance (the Marketplace's ids: at most 64 of these characters); anything else links to the list. */
const INSTANCE_SUBJECT = /^[A-Za-z0-9_-]{1,64}$/;

/** The alert owed when a problem opens: nothing while alerts are off, muted below ALERT_MIN_SEVERITY. */
function openedAlert(kind: ProblemKind, severity: ProblemSeverity, config: AlertConfig): AlertState {
  // Its own alert would go to the very URL that just failed: alert.failing is announced only when it resolves, once
  // an alert got through again (see README "Alerts").
  if (kind === "alert.failing" || config.state !== "on") return "off";
  return loudEnough(severity, config.target.minSeverity) ? "pending" : "muted";
}

/**
 * The alert owed when a problem resolves, as SQL over the row: announced when its opening was (or was to be), and for
 * alert.failing always (the URL works again); a problem whose opening nobody heard of resolves quietly.
 */
function resolvedAlertSql(kind: ProblemKind, severity: ProblemSeverity, config: AlertConfig): SQL {
  if (config.state !== "on") return sql`'off'`;
  if (!loudEnough(severity, config.target.minSeverity)) return sql`'muted'`;
  if (kind === "alert.failing") return sql`'pending'`;
  return sql`CASE WHEN ${problems.alertOpened} IN ('pending', 'sent', 'failed') THEN 'pending' ELSE ${problems.alertOpened} END`;
}

export async function reportProblem(env: Env, report: ProblemReport, now: number): Promise<{ opened: boolean; id: number }> {
  const db = getDb(env);
  const severity = report.severity ?? SEVERITY[report.kind];
  const alert = openedAlert(report.kind, severity, alertConfigOf(env));
  const summary = report.summary.slice(0, SUMMARY_MAX);
  const detail = report.detail.slice(0, DETAIL_MAX);
  const row = await db
    .insert(problems)
    .values({
      kind: report.kind,
      subject: report.subject,
      severity,
      summary,
      detail,
      count: 1,
      openedAt: now,
      lastSeenAt: now,
      alertOpened: alert,
      alertNextAt: alert === "pending" ? now : null,
    })
    // The partial unique index (open rows only): a repeat lands on the open row; a resolved one is history.
    .onConflictDoUpdate({
      target: [problems.kind, problems.subject],
      targetWhere: sql`resolved_at IS NULL`,
      set: { count: sql`${problems.count} + 1`, lastSeenAt: sql`max(${problems.lastSeenAt}, ${now})`, summary, detail },
    })
    .returning({ id: problems.id, count: problems.count })
    .get();
  if (!row) throw new Error(`problem ${report.kind} ${report.subject} was not written`);
  const opened = row.count === 1;
  if (opened) {
    log("warn", "problem.opened", { problemId: row.id, kind: report.kind, subject: report.subject, severity });
    if (alert === "pending") await kickAlerts(env);
  }
  return { opened, id: row.id };
}

/** Resolves the open problem of a kind that clears by itself; false when there was none (or the kind is final). */
export async function clearProblem(env: Env, kind: ProblemKind, subject: string, now: number): Promise<boolean> {
  if (!clearsByItself(kind)) return false;
  const db = getDb(env);
  const config = alertConfigOf(env);
  const [row] = await clearStatement(db, kind, subject, now, config).returning({ id: problems.id, alertResolved: problems.alertResolved });
  if (!row) return false;
  log("info", "problem.resolved", { problemId: row.id, kind, subject, by: "gateway" });
  if (row.alertResolved === "pending") await kickAlerts(env);
  return true;
}

/**
 * The UPDATE that resolves (kind, subject) if open, for a caller that runs it in a batch of its own (a delivery's
 * acknowledgement): `unless` holds it back while some other evidence says the condition is still there.
 */
export function clearStatement(db: Db, kind: ProblemKind, subject: string, now: number, config: AlertConfig, unless?: SQL) {
  const alert = resolvedAlertSql(kind, SEVERITY[kind], config);
  return db
    .update(problems)
    .set({
      resolvedAt: now,
      resolvedBy: "gateway",
      alertResolved: sql`${alert}`,
      alertNextAt: sql`CASE WHEN ${alert} = 'pending' THEN COALESCE(${problems.alertNextAt}, ${now}) ELSE ${problems.alertNextAt} END`,
    })
    .where(and(eq(problems.kind, kind), eq(problems.subject, subject), isNull(problems.resolvedAt), ...(unless ? [sql`NOT (${unless})`] : [])));
}

/** After a batch that ran clearStatement(...).returning(...): the log line and the alert, as clearProblem does. */
export async function afterClear(env: Env, kind: ProblemKind, subject: string, rows: ReadonlyArray<{ id: number; alertResolved: AlertState | null }>): Promise<void> {
  for (const row of rows) {
    log("info", "problem.resolved", { problemId: row.id, kind, subject, by: "gateway" });
    if (row.alertResolved === "pending") await kickAlerts(env);
  }
}

/** The subjects of a kind's open problems: a check that clears many subjects reads once instead of writing each. */
export async function openSubjects(db: Db, kind: ProblemKind): Promise<Set<string>> {
  const rows = await db.select({ subject: problems.subject }).from(problems).where(and(eq(problems.kind, kind), isNull(problems.resolvedAt))).all();
  return new Set(rows.map((row) => row.subject));
}

export type ProblemListState = "open" | "resolved" | "all";

/** Newest first (by when they opened). */
export async function listProblems(db: Db, state: ProblemListState, limit: number): Promise<ProblemRow[]> {
  const filter = state === "open" ? isNull(problems.resolvedAt) : state === "resolved" ? isNotNull(problems.resolvedAt) : undefined;
  return db.select().from(problems).where(filter).orderBy(desc(problems.openedAt), desc(problems.id)).limit(limit).all();
}

export type AdminResolveResult = { status: 200; problem: ProblemView } | { status: 404 | 409; error: string };

/**
 * A person closes a problem, with a note: recorded in admin_actions in the same batch, only if this call resolved it.
 * Any open problem may be closed this way (a clearing one too, e.g. job.stale of a job that no longer exists); if the
 * condition is still there, the next report opens a new problem.
 */
export async function resolveProblemByAdmin(env: Env, id: number, note: string, now: number): Promise<AdminResolveResult> {
  const db = getDb(env);
  const current = await db.select().from(problems).where(eq(problems.id, id)).get();
  if (!current) return { status: 404, error: `problem ${id} does not exist` };
  if (current.resolvedAt !== null) return { status: 409, error: `problem ${id} is already resolved` };
  const kind = current.kind as ProblemKind;
  const alert = resolvedAlertSql(kind, current.severity, alertConfigOf(env));
  const record: AdminActionRecord = { action: "resolveProblem", target: String(id), at: now, detail: { kind, note } };
  const [updated] = await db.batch([
    db
      .update(problems)
      .set({
        resolvedAt: now,
        resolvedBy: "admin",
        resolutionNote: note,
        alertResolved: sql`${alert}`,
        alertNextAt: sql`CASE WHEN ${alert} = 'pending' THEN COALESCE(${problems.alertNextAt}, ${now}) ELSE ${problems.alertNextAt} END`,
      })
      .where(and(eq(problems.id, id), isNull(problems.resolvedAt)))
      .returning(),
    adminActionIfChanged(db, record),
  ]);
  const row = updated[0];
  if (!row) return { status: 409, error: `problem ${id} is already resolved` };
  // The note is the operator's free text: kept in admin_actions and on the row, not in the log line.
  logAdminAction({ ...record, detail: { kind } });
  log("info", "problem.resolved", { problemId: id, kind, subject: row.subject, by: "admin" });
  if (row.alertResolved === "pending") await kickAlerts(env);
  return { status: 200, problem: problemView(row) };
}

/** The operations actor sends pending alerts now instead of at its next alarm. */
export async function kickAlerts(env: Env): Promise<void> {
  await getOperationsActor(env).kick();
}

/**
 * Pauses before the second and third attempt of background bookkeeping. A problem's clearing has no other writer: one
 * lost to a passing D1 error would stay open for good (the simulated day at scale found one), so it is tried again.
 */
export const BACKGROUND_RETRY_DELAYS_MS = [250, 2_000] as const;

/**
 * Problem bookkeeping off the caller's path: retried (BACKGROUND_RETRY_DELAYS_MS), then its failure is logged, never
 * thrown into work that already succeeded. `waitUntil`: the request's or the Durable Object's, so the runtime keeps
 * the work alive after the answer. Reporting twice only counts a repeat; clearing twice finds nothing open.
 */
export function inBackground(waitUntil: ((promise: Promise<unknown>) => void) | undefined, work: () => Promise<unknown>): void {
  const promise = withRetries(work).catch((error: unknown) => log("error", "problem.write_failed", { error: error instanceof Error ? error.message : String(error) }));
  if (waitUntil) waitUntil(promise);
}

async function withRetries(work: () => Promise<unknown>): Promise<unknown> {
  for (const delay of BACKGROUND_RETRY_DELAYS_MS) {
    try {
      return await work();
    } catch (error) {
      log("warn", "problem.write_retried", { error: error instanceof Error ? error.message : String(error), inMs: delay });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  return work();
}
