import { DurableObject } from "cloudflare:workers";
import { log } from "../observability/log";
import { sendDueAlerts } from "../operations/alerts";
import { watchJobs } from "../operations/job-watch";

/** The alarm's rhythm when nothing is due sooner: how late a stalled cron is noticed at worst. */
export const WATCH_INTERVAL_MS = 15 * 60_000;
/** /healthz may be polled every few seconds: the job check it triggers runs at most this often. */
export const MIN_CHECK_GAP_MS = 60_000;
/** After an alarm that threw. */
const ALARM_FAILURE_RETRY_MS = 60_000;

const KV = {
  /** When the first check ran: a job that never ran is stale only twice its interval after this. */
  watchingSince: "watchingSince",
  lastCheckAt: "lastCheckAt",
} as const;

/**
 * One per deployment (getOperationsActor): the watch that cron cannot keep over itself, and the alert sender. Its
 * alarm re-arms itself every WATCH_INTERVAL_MS: it checks that every scheduled job ran (job.stale) and sends the
 * alerts that are due (src/operations/alerts.ts), with their retries. Each /healthz and each cron run arm it (watch),
 * so a deployment that never had an alarm gets one; a new problem with an alert brings the alarm forward (kick).
 */
export class OperationsActor extends DurableObject<Env> {
  /**
   * Arms the alarm if it is not, and checks the jobs now unless that was done within MIN_CHECK_GAP_MS (`force`: after
   * a cron run, so a job.stale clears as soon as its job ran again).
   */
  async watch(force = false): Promise<void> {
    const now = Date.now();
    if (force || now - (this.ctx.storage.kv.get<number>(KV.lastCheckAt) ?? 0) >= MIN_CHECK_GAP_MS) await this.check(now);
    await this.arm(now + WATCH_INTERVAL_MS);
  }

  /** A problem opened or resolved with an alert owed: send it now. */
  async kick(): Promise<void> {
    await this.arm(Date.now());
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    let next = now + WATCH_INTERVAL_MS;
    try {
      await this.check(now);
      // Only the alarm sends (the runtime runs one alarm at a time), so an alert is never sent twice at once.
      const due = (await sendDueAlerts(this.env, now)).nextDueAt;
      if (due !== undefined) next = Math.min(next, Math.max(due, Date.now()));
    } catch (error) {
      next = Date.now() + ALARM_FAILURE_RETRY_MS;
      log("error", "operations.alarm_failed", { error: error instanceof Error ? error.message : String(error) });
    } finally {
      await this.ctx.storage.setAlarm(next);
    }
  }

  private async check(now: number): Promise<void> {
    const kv = this.ctx.storage.kv;
    let since = kv.get<number>(KV.watchingSince);
    if (since === undefined) {
      since = now;
      kv.put(KV.watchingSince, since);
    }
    kv.put(KV.lastCheckAt, now);
    await watchJobs(this.env, now, since);
  }

  private async arm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
