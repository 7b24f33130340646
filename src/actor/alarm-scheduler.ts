import { log } from "../observability/log";
import { type InstanceScope, KV } from "./instance-scope";

/** After an alarm that threw, the next one waits this long, whatever is overdue. */
export const ALARM_FAILURE_RETRY_MS = 30_000;

/**
 * A background duty of an instance actor, multiplexed on its one alarm: `nextDue` reads the actor's storage only (no
 * I/O, so arming is cheap), `run` does what is due and leaves its next due time in storage.
 */
export interface Duty {
  readonly name: string;
  nextDue(s: InstanceScope): number | undefined;
  run(s: InstanceScope, now: number): Promise<void>;
}

/**
 * Runs each duty due at `now`, in order; a duty that throws does not stop the ones after it. Returns the errors, in
 * the order they happened.
 */
export async function runDueDuties(s: InstanceScope, duties: readonly Duty[], now: number): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const duty of duties) {
    const due = duty.nextDue(s);
    if (due === undefined || due > now) continue;
    try {
      await duty.run(s, now);
    } catch (error) {
      log("error", "actor.duty_failed", { duty: duty.name, error: error instanceof Error ? error.message : String(error) });
      errors.push(error);
    }
  }
  return errors;
}

/**
 * Arms the alarm for the earliest due duty (an accepted call left unwritten counts as due after the failure pause), but
 * not before `notBefore`. An earlier alarm already set is kept: it runs what is due then and re-arms. With nothing due
 * the alarm is left as it is, never deleted: a delivery loop may have cleared its mark while a concurrent commit armed
 * the alarm for new events (test/seller-contract/event-feed-concurrency.test.ts hangs when it is deleted).
 */
export async function armAlarm(s: InstanceScope, duties: readonly Duty[], storage: AlarmStorage, notBefore = 0): Promise<void> {
  const times = duties.map((duty) => duty.nextDue(s)).filter((time): time is number => time !== undefined);
  if (s.kv.get(KV.accepted) !== undefined) times.push(Date.now() + ALARM_FAILURE_RETRY_MS);
  if (times.length === 0) return;
  const due = Math.max(Math.min(...times), notBefore);
  const current = await storage.getAlarm();
  if (current === null || current > due) await storage.setAlarm(due);
}

/** The part of the Durable Object storage's alarm API used here. */
export interface AlarmStorage {
  getAlarm(): Promise<number | null>;
  setAlarm(at: number): Promise<void>;
}
