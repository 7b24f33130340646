import { type Prepared, send, v2Call } from "../client";
import { createProblems, queryProblems } from "../checks";
import type { Context, SavedCase } from "../framework";
import { bearer, businessId, debugOrderId, inOneYear } from "../ids";

/**
 * V2 basic interface, POST /saas (saas-production-interface §3): every activity of the debugger's tabs with the
 * debug flag, each twice, then all of them again in a random order, then the refusals of §2.2 (bad signature, stale
 * and future timestamp, replayed nonce, wrong key, unsigned). With --real the lifecycle is sent as a real purchase
 * (no testFlag), polling queryInstance while the gateway answers 000004, and no random order (real calls have one);
 * --keep stops before the release and --on-demand buys pay-per-use and stops once it is provisioned, so the seller
 * has an active entitlement to look at or report usage for (the full ids and the next commands are printed).
 */
export async function v2Suite(ctx: Context): Promise<void> {
  const key = ctx.settings.keys.saas;
  const flag = ctx.real ? {} : { testFlag: "1" };
  const call = (body: object, options = {}): Prepared => v2Call(ctx.base, "/saas", key, { ...body, ...flag }, options);
  const saved = (name: string, body: () => object, more: Partial<SavedCase> = {}): SavedCase => ({ name, build: () => call(body()), key, expect: ["000000"], ...more });

  const { keep, onDemand } = ctx.walkthrough;
  // The local fake Marketplace answers an order id starting with OD as a pay-per-use order.
  const orderId = debugOrderId(onDemand ? "ODREAL" : ctx.real ? "CSREAL" : "CSDEBUG");
  let instanceId = "";
  const create = saved("newInstance", () => ({ activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: businessId() }), {
    expect: ctx.real ? ["000000", "000004"] : ["000000"],
    fields: (answer) => {
      const problems = createProblems(answer);
      const id = answer.json?.instanceId;
      if (!instanceId && typeof id === "string") instanceId = id;
      else if (typeof id === "string" && id !== instanceId) problems.push(`instanceId ${id} differs from the first answer's ${instanceId} (same order line)`);
      return problems;
    },
  });
  const first = await ctx.playTwice("v2", create);
  instanceId ||= typeof first.json?.instanceId === "string" ? first.json.instanceId : "missing-instance-id";
  if (ctx.real) await waitProvisioned(ctx, call, instanceId);

  const query = saved("queryInstance", () => ({ activity: "queryInstance", instanceId }), { fields: (answer) => queryProblems(answer, instanceId), sameText: false });
  const scenes = ["RENEWAL", "TRIAL_TO_FORMAL", "UNSUBSCRIBE_RENEWAL_PERIOD", "RENEWAL_CHANGE"].map((scene) => {
    const renewal = debugOrderId(ctx.real ? "CSREAL" : "CSDEBUG");
    const expireTime = inOneYear();
    return saved(`refreshInstance ${scene}`, () => ({ activity: "refreshInstance", scene, orderId: renewal, orderLineId: `${renewal}-000001`, instanceId, expireTime }));
  });
  const upgrade = debugOrderId(ctx.real ? "CSREAL" : "CSDEBUG");
  const changes: SavedCase[] = [
    ...(ctx.real ? scenes.slice(0, 1) : scenes),
    saved("updateInstanceStatus FREEZE", () => ({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" })),
    saved("updateInstanceStatus UNFREEZE", () => ({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" })),
    saved("upgradeInstance", () => ({ activity: "upgradeInstance", instanceId, orderId: upgrade, orderLineId: `${upgrade}-000001` })),
    saved("changeInstanceCheck", () => ({ activity: "changeInstanceCheck", instanceId, productInfo: { skuCode: "SKU-DEBUG", productId: "OFFI-DEBUG" } })),
  ];
  const release = saved("releaseInstance", () => ({ activity: "releaseInstance", instanceId }));
  // Pay-per-use has no renewal or upgrade: the walkthrough ends with the purchase active.
  const lifecycle: SavedCase[] = [query, ...(onDemand ? [] : changes), ...(keep ? [] : [release])];
  for (const one of lifecycle) await ctx.playTwice("v2", one);
  if (ctx.real && first.json?.instanceId) walkthroughSteps(ctx, instanceId, keep, onDemand);
  const unknown = saved("releaseInstance of an id never created", () => ({ activity: "releaseInstance", instanceId: "never-seen-by-this-gateway" }));
  if (!ctx.real) {
    await ctx.playTwice("v2", unknown);
    await ctx.playShuffled("v2", [create, ...lifecycle, unknown]);
  }

  // Refusals: a query of the instance, which would otherwise succeed.
  const body = { activity: "queryInstance", instanceId };
  const tolerance = Math.max(ctx.settings.toleranceSeconds, 60) * 1000 + 60_000;
  await ctx.refuse("v2", "refused: bad signature", call(body, { signature: "0".repeat(64) }), key);
  await ctx.refuse("v2", "refused: signed with another key", v2Call(ctx.base, "/saas", `${key}-wrong`, { ...body, ...flag }), key);
  await ctx.refuse("v2", "refused: stale timestamp", call(body, { timestamp: Date.now() - tolerance }), key);
  await ctx.refuse("v2", "refused: timestamp in the future", call(body, { timestamp: Date.now() + tolerance }), key);
  await ctx.replay("v2", "refused: replayed nonce", call(body), key, ["000000"]);
  const unsigned = call(body);
  unsigned.url = unsigned.url.replace(/\?.*$/, "");
  await ctx.refuse("v2", "refused: no signature", unsigned, key);
}

/**
 * A real purchase is provisioned once its order is known (000004 until then); the Marketplace polls queryInstance.
 * A backend that answered instance.created with 202 finishes it by hand: after a few seconds the command is printed.
 */
async function waitProvisioned(ctx: Context, call: (body: object) => Prepared, instanceId: string): Promise<void> {
  const started = Date.now();
  const waitMs = ctx.walkthrough.waitSeconds * 1000;
  let last = "";
  let hinted = false;
  while (Date.now() - started < waitMs) {
    const answer = await send(call({ activity: "queryInstance", instanceId }));
    last = String(answer.json?.resultCode ?? answer.error ?? answer.status);
    if (last === "000000") return;
    if (!hinted && Date.now() - started > 3000) {
      hinted = true;
      ctx.say(`     still provisioning after 3 s. If your backend answered instance.created with 202, finish it now (waiting up to ${ctx.walkthrough.waitSeconds} s; --wait gives more):`);
      ctx.say(`     ${provisionedCommand(ctx.base, instanceId)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  ctx.record("v2", `real purchase provisioned within ${ctx.walkthrough.waitSeconds} s`, [`queryInstance still answers ${last}`], null, null, Date.now() - started);
  ctx.next(`finish the provisioning: ${provisionedCommand(ctx.base, instanceId)}`);
}


function provisionedCommand(base: string, instanceId: string): string {
  const body = JSON.stringify({ frontEndUrl: `https://app.example.com/t/${instanceId}`, userName: "admin" });
  return `curl -X POST ${bearer} -H "content-type: application/json" -d '${body}' ${base}/api/v1/instances/${instanceId}/provisioned`;
}

function walkthroughSteps(ctx: Context, instanceId: string, keep: boolean, onDemand: boolean): void {
  ctx.next(`instance ${instanceId} (${keep ? "kept active" : "released"})`);
  ctx.next(`the entitlement: curl ${bearer} ${ctx.base}/api/v1/instances/${instanceId}`);
  ctx.next(`its events:      curl ${bearer} '${ctx.base}/api/v1/events?limit=20'`);
  if (onDemand) {
    const event = JSON.stringify({ events: [{ eventId: `usage-${Date.now()}`, instanceId, quantity: 1.5, time: new Date().toISOString() }] });
    ctx.next(`report usage:    curl -X POST ${bearer} -H "content-type: application/json" -d '${event}' ${ctx.base}/api/v1/usage`);
    ctx.next(`push it now:     curl '${ctx.base}/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*' (npm run dev also runs it every 5 minutes; a record is pushed once its hour has ended)`);
  } else if (!keep) {
    ctx.next("--keep stops before the release, so the entitlement stays active");
  }
}
