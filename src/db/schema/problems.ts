import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { epochMs } from "./common";

/**
 * Alert of one edge of a problem (opened, resolved): `pending` waits for the operations actor to send it; `sent`;
 * `failed` after its retries; `muted` below ALERT_MIN_SEVERITY; `off` when no alert was to be sent (no
 * ALERT_WEBHOOK_URL, a malformed alert setting, or the alert.failing problem's own opening).
 */
export const ALERT_STATES = ["pending", "sent", "failed", "muted", "off"] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/**
 * What is going wrong, one row per occurrence of a (kind, subject): open while `resolved_at` is null. At most one
 * open row per kind and subject (a repeat counts on it); once resolved, the same condition again opens a new row,
 * so a final outcome a person closed is never silently reopened. Written by src/operations/problems.ts only.
 */
export const problems = sqliteTable(
  "problems",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** One of PROBLEM_KINDS (src/operations/problem-kinds.ts). */
    kind: text("kind").notNull(),
    /** What it is about: an instance id, a job name, the seller backend's origin… (per kind, see the README). */
    subject: text("subject").notNull(),
    severity: text("severity", { enum: ["warning", "critical"] }).notNull(),
    /** One line for a person: ids, codes and counts, never a secret or a personal field. */
    summary: text("summary").notNull(),
    detail: text("detail").notNull(),
    count: integer("count").notNull().default(1),
    openedAt: epochMs("opened_at").notNull(),
    lastSeenAt: epochMs("last_seen_at").notNull(),
    resolvedAt: epochMs("resolved_at"),
    /** "gateway" (the condition cleared) or "admin" (a person resolved it; note in admin_actions too). */
    resolvedBy: text("resolved_by"),
    resolutionNote: text("resolution_note"),
    alertOpened: text("alert_opened", { enum: ALERT_STATES }).notNull(),
    alertResolved: text("alert_resolved", { enum: ALERT_STATES }),
    /** Attempts of the alert being sent now (opened first, then resolved); reset when one is sent. */
    alertAttempts: integer("alert_attempts").notNull().default(0),
    /** When the pending alert is due; null when none is pending. */
    alertNextAt: epochMs("alert_next_at"),
    alertError: text("alert_error"),
  },
  (t) => [
    uniqueIndex("problems_open_uq").on(t.kind, t.subject).where(sql`resolved_at IS NULL`),
    index("problems_opened_idx").on(t.openedAt),
    index("problems_resolved_idx").on(t.resolvedAt).where(sql`resolved_at IS NOT NULL`),
    index("problems_alert_due_idx").on(t.alertNextAt).where(sql`alert_next_at IS NOT NULL`),
  ],
);

export type ProblemRow = typeof problems.$inferSelect;
export type NewProblemRow = typeof problems.$inferInsert;
