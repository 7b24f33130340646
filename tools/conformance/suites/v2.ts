import { type Prepared, send, v2Call } from "../client";
import { createProblems, queryProblems } from "../checks";
import type { Context, SavedCase } from "../framework";
import { businessId, debugOrderId, inOneYear } from "../ids";

/**
 * V2 basic interface, POST /saas (saas-production-interface.md §3): every activity of the debugger's tabs with the
 * debug flag, each twice, then all of them again in a random order, then the refusals of §2.2 (bad signature, stale
 * and future timestamp, replayed nonce, wrong key, unsigned). With --real the lifecycle is sent as a real purchase
 * (no testFlag), polling queryInstance while the gateway answers 000004, and no random order (real calls have one).
 */
export async function v2Suite(ctx: Context): Promise<void> {
  const key = ctx.settings.keys.saas;
  const flag = ctx.real ? {} : { testFlag: "1" };
  const call = (body: object, options = {}): Prepared => v2Call(ctx.base, "/saas", key, { ...body, ...flag }, options);
  const saved = (name: string, body: () => object, more: Partial<SavedCase> = {}): SavedCase => ({ name, build: () => call(body()), key, expect: ["000000"], ...more });

  const orderId = debugOrderId(ctx.real ? "CSREAL" : "CSDEBUG");
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
  const lifecycle: SavedCase[] = [
    query,
    ...(ctx.real ? scenes.slice(0, 1) : scenes),
    saved("updateInstanceStatus FREEZE", () => ({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" })),
    saved("updateInstanceStatus UNFREEZE", () => ({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" })),
    saved("upgradeInstance", () => ({ activity: "upgradeInstance", instanceId, orderId: upgrade, orderLineId: `${upgrade}-000001` })),
    saved("changeInstanceCheck", () => ({ activity: "changeInstanceCheck", instanceId, productInfo: { skuCode: "SKU-DEBUG", productId: "OFFI-DEBUG" } })),
    saved("releaseInstance", () => ({ activity: "releaseInstance", instanceId })),
  ];
  for (const one of lifecycle) await ctx.playTwice("v2", one);
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

/** A real purchase is provisioned once its order is known (000004 until then); the Marketplace polls queryInstance. */
async function waitProvisioned(ctx: Context, call: (body: object) => Prepared, instanceId: string): Promise<void> {
  const started = Date.now();
  let last = "";
  while (Date.now() - started < 30_000) {
    const answer = await send(call({ activity: "queryInstance", instanceId }));
    last = String(answer.json?.resultCode ?? answer.error ?? answer.status);
    if (last === "000000") return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  ctx.record("v2", "real purchase provisioned within 30 s", [`queryInstance still answers ${last}`], null, null, Date.now() - started);
}
