import type { Instance } from "../../db/schema/instances";
import { statements } from "../../instances/instance.repo";
import { type PendingOrderFetch, emptyOrderRow, orderFetchDelay, orderRowOf, shouldGiveUp } from "../../instances/order-fetch";
import { orderArrived } from "../../instances/purchase";
import { ORDER_NEVER_FETCHED, purchaseFailed } from "../../instances/seller-provisioning";
import { MarketplaceApiError } from "../../marketplace-api/errors";
import { type OrderTruth, queryOrder } from "../../marketplace-api/order.api";
import { log } from "../../observability/log";
import { QUERY_ORDER_FAILING_AFTER, queryOrderFailing } from "../../operations/instance-problems";
import { clearProblem } from "../../operations/problems";
import { ResultCode } from "../../protocol/result-codes";
import type { Duty } from "../alarm-scheduler";
import { commit } from "../commit";
import { type InstanceScope, KV, background, load, problem, replacePending } from "../instance-scope";
import { closeWindowIfDue } from "./provisioning-window.duty";

/**
 * Query order retries (src/instances/order-fetch.ts: purposes, back-off, when to give up): the orders a call could not
 * fetch in its own time, each kept in the actor's storage until its answer or its give-up is written.
 */
export const orderFetchDuty: Duty = {
  name: "order-fetch",
  nextDue(s) {
    const pending = s.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? [];
    return pending.length === 0 ? undefined : Math.min(...pending.map((p) => p.nextAt));
  },
  async run(s, now) {
    const instance = s.kv.get<Instance>(KV.instance);
    const pending = s.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? [];
    // The create that scheduled these never committed: nothing to fetch for.
    if (!instance) {
      s.kv.delete(KV.orderFetches);
      return;
    }
    for (const item of pending.filter((p) => p.nextAt <= now)) await fetchOrder(s, instance.id, item, now);
  },
};

/** One pending fetch: its answer committed with what it does to the purchase, or its failure and next try. */
export async function fetchOrder(s: InstanceScope, instanceId: string, item: PendingOrderFetch, now: number): Promise<void> {
  let truth: OrderTruth;
  try {
    truth = await queryOrder(s.settings.marketplace, item.orderId, item.orderLineId, new Date(now), undefined, item.productId);
  } catch (error) {
    await s.serialize(() => recordFetchFailure(s, instanceId, item, error, now));
    return;
  }
  await s.serialize(async () => {
    const loaded = await load(s, instanceId);
    if (!loaded) return;
    const instance = await closeWindowIfDue(s, loaded, Date.now());
    if (item.purpose === "create" && instance.status === "failed") {
      // Too late: the Marketplace has judged the purchase failed. Its answer changes nothing.
      replacePending(s, item, null);
      return;
    }
    const orderRow = statements.upsertOrder(s.db, await orderRowOf(s.settings, instanceId, item, truth, now));
    // A record for the statement: stored, the instance untouched (order-fetch.ts recordFetchOf).
    if (item.purpose === "record") await s.db.batch([orderRow]);
    else await commit(s, instance, await orderArrived(instance, item, truth, s.settings, now), now, { statements: [orderRow] });
    replacePending(s, item, null);
    if (item.attempts >= QUERY_ORDER_FAILING_AFTER) background(s, () => clearProblem(s.env, "query_order.failing", instanceId, now));
  });
}

async function recordFetchFailure(s: InstanceScope, instanceId: string, item: PendingOrderFetch, error: unknown, now: number): Promise<void> {
  const retryable = error instanceof MarketplaceApiError ? error.retryable : true;
  const attempts = item.attempts + 1;
  const giveUp = shouldGiveUp(retryable, attempts);
  const message = error instanceof Error ? error.message : String(error);
  log(giveUp ? "error" : "warn", "order.fetch_failed", { instanceId, orderId: item.orderId, attempts, retryable, error: message });
  const orderRow = statements.upsertOrder(s.db, {
    ...emptyOrderRow(instanceId, item, now),
    fetchState: giveUp ? "failed" : "pending",
    fetchAttempts: attempts,
    nextFetchAt: giveUp ? null : now + orderFetchDelay(attempts),
    lastError: message.slice(0, 500),
  });
  const loaded = await load(s, instanceId);
  const instance = loaded ? await closeWindowIfDue(s, loaded, Date.now()) : undefined;
  if (item.purpose === "create" && instance?.status === "failed") {
    replacePending(s, item, null);
    return;
  }
  // A record's failure costs the buyer nothing: the statement shows its amount null with the reason.
  if (instance && attempts >= QUERY_ORDER_FAILING_AFTER && item.purpose !== "record") problem(s, queryOrderFailing(instance, attempts, message, giveUp), now);
  if (giveUp && item.purpose === "create" && instance && instance.orderKnownAt === null && instance.status === "provisioning") {
    // No order, no provisioning: the purchase fails; a new newInstance from the Marketplace tries again.
    await commit(s, instance, purchaseFailed(instance, ResultCode.InternalError, ORDER_NEVER_FETCHED, now), now, { statements: [orderRow] });
  } else {
    await s.db.batch([orderRow]);
  }
  replacePending(s, item, giveUp ? null : { ...item, attempts, nextAt: now + orderFetchDelay(attempts) });
}
