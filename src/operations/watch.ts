import { getOperationsActor } from "../actor/operations.stub";
import { inBackground } from "./problems";
import { noticeSettings } from "./settings-watch";

/**
 * What /healthz, the admin health and each cron run do besides their own work: settings.invalid from the settings
 * they run with, and the operations actor's watch (its alarm armed, the jobs checked at most once a minute).
 * Off the answer's path (ctx.waitUntil); a failure here is logged, never the caller's.
 */
export function watchInBackground(env: Env, ctx: ExecutionContext | undefined, now: number): void {
  const waitUntil = ctx ? (promise: Promise<unknown>) => ctx.waitUntil(promise) : undefined;
  inBackground(waitUntil, () => noticeSettings(env, now));
  inBackground(waitUntil, () => getOperationsActor(env).watch());
}

/** The same, awaited: a cron run is no answer path, and its invocation ends when it returns. */
export async function watchAfterCron(env: Env, now: number): Promise<void> {
  const pending: Promise<unknown>[] = [];
  const collect = (promise: Promise<unknown>) => {
    pending.push(promise);
  };
  inBackground(collect, () => noticeSettings(env, now));
  inBackground(collect, () => getOperationsActor(env).watch(true));
  await Promise.all(pending);
}
