import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { clearProblem, reportProblem } from "./problems";

/** What one usage-push run saw, for its problems (collected by src/billing/push.job.ts). */
export interface UsagePushFacts {
  /** The last whole-call failure of the run (network, 5xx, the key or signature refused), if any call failed so. */
  callFailure: string | undefined;
  /** Some call was answered about its records. */
  callAnswered: boolean;
  expired: { count: number; sample: string[] };
  /** Per record code: how many records the Marketplace rejected with it this run. */
  rejected: Map<string, { count: number; message: string; sample: string[] }>;
}

export function emptyUsagePushFacts(): UsagePushFacts {
  return { callFailure: undefined, callAnswered: false, expired: { count: 0, sample: [] }, rejected: new Map() };
}

export function noteRejected(facts: UsagePushFacts, code: string, message: string, sn: string): void {
  const seen = facts.rejected.get(code) ?? { count: 0, message, sample: [] };
  seen.count += 1;
  if (seen.sample.length < 5) seen.sample.push(sn);
  facts.rejected.set(code, seen);
}

/** usage_push.failing's one subject: the push to the Marketplace (the records are the usage_push.expired subject). */
export const USAGE_PUSH_SUBJECT = "usage push";
export const USAGE_RECORDS_SUBJECT = "usage records";

const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;

/**
 * After a push run: usage_push.failing while calls fail as a whole (cleared by a run whose calls are answered and none
 * failed), usage_push.expired for records past their deadline, usage.rejected per record code. Each run reports at
 * most once per problem, so a count is a number of runs; the summary says how many records.
 */
export async function noteUsagePush(env: Env, db: Db, facts: UsagePushFacts, now: number): Promise<void> {
  if (facts.callFailure !== undefined) {
    const waiting = await db.get<{ n: number; earliest: number | null }>(
      sql`SELECT COUNT(*) AS n, MIN(deadline) AS earliest FROM usage_records WHERE state IN ('pending', 'sent')`,
    );
    const cost = waiting?.earliest ? `${waiting.n} records wait; the earliest deadline is ${utc(waiting.earliest)}` : "records wait for the next run";
    await reportProblem(
      env,
      {
        kind: "usage_push.failing",
        subject: USAGE_PUSH_SUBJECT,
        summary: `Usage push to the Marketplace fails (${facts.callFailure.slice(0, 120)}): ${cost}.`,
        detail: "Each run retries. A refused key or signature: check USAGE_PUSH_KEY (new push) or MARKETPLACE_AK/SK (old push) and USAGE_PUSH_API; a network error or 5xx: the Marketplace is down. GET /admin/api/usage shows the records.",
      },
      now,
    );
  } else if (facts.callAnswered) {
    await clearProblem(env, "usage_push.failing", USAGE_PUSH_SUBJECT, now);
  }
  if (facts.expired.count > 0) {
    await reportProblem(
      env,
      {
        kind: "usage_push.expired",
        subject: USAGE_RECORDS_SUBJECT,
        summary: `${facts.expired.count} usage records missed their push deadline (e.g. ${facts.expired.sample[0] ?? "?"}): the Marketplace will not bill them as they are.`,
        detail: `metering_sn: ${facts.expired.sample.join(", ")}. GET /admin/api/usage lists them; POST /admin/api/usage/{meteringSn}/correct writes a correction record.`,
      },
      now,
    );
  }
  for (const [code, seen] of facts.rejected) {
    await reportProblem(
      env,
      {
        kind: "usage.rejected",
        subject: code,
        summary: `The Marketplace rejected ${seen.count} usage records with ${code} (${seen.message.slice(0, 120)}): they are not billed.`,
        detail: `metering_sn: ${seen.sample.join(", ")}. GET /admin/api/usage shows the code and message of each; correct with POST /admin/api/usage/{meteringSn}/correct once the cause is fixed.`,
      },
      now,
    );
  }
}
