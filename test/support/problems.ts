import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { ProblemList } from "../../src/admin/admin-api.schema";
import { adminCall } from "./admin";

/* The problems list as the operator reads it, and waits for problems written in the background (ctx.waitUntil). */

export interface ProblemRowSeen {
  id: number;
  kind: string;
  subject: string;
  severity: string;
  summary: string;
  detail: string;
  count: number;
  resolved_at: number | null;
  resolved_by: string | null;
  alert_opened: string;
  alert_resolved: string | null;
}

export async function problemRows(kind: string, subject?: string): Promise<ProblemRowSeen[]> {
  const query = subject === undefined ? "SELECT * FROM problems WHERE kind = ? ORDER BY id" : "SELECT * FROM problems WHERE kind = ? AND subject = ? ORDER BY id";
  const statement = subject === undefined ? env.DB.prepare(query).bind(kind) : env.DB.prepare(query).bind(kind, subject);
  return (await statement.all<ProblemRowSeen>()).results;
}

/** Polls until `check` holds for the rows of (kind, subject), or fails with what was there. */
export async function waitForProblems(kind: string, subject: string | undefined, check: (rows: ProblemRowSeen[]) => boolean, timeoutMs = 5_000): Promise<ProblemRowSeen[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await problemRows(kind, subject);
    if (check(rows)) return rows;
    if (Date.now() > deadline) {
      expect(rows, `problems ${kind} ${subject ?? ""}`).toEqual("the awaited state");
      return rows;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export const openOne = (rows: ProblemRowSeen[]) => rows.length === 1 && rows[0]?.resolved_at === null;
export const resolvedAll = (rows: ProblemRowSeen[]) => rows.length > 0 && rows.every((row) => row.resolved_at !== null);

export async function listedProblems(state?: string) {
  const answer = await adminCall(`/admin/api/problems${state ? `?state=${state}` : ""}`);
  expect(answer.status).toBe(200);
  return ProblemList.parse(answer.json).problems;
}

/** Nothing of these kinds at all (a refused call opens nothing). */
export async function problemCount(): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM problems").first<{ n: number }>();
  return row?.n ?? 0;
}
