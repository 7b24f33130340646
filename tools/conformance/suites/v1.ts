import { v1Get } from "../client";
import { createProblems, v1AppInfoProblems } from "../checks";
import type { Context, SavedCase } from "../framework";
import { businessId, debugOrderId, hex, inOneYear } from "../ids";

/**
 * V1 legacy basic interface, GET /saas/v1 with authToken (saas-production-interface §5): each activity with the
 * debug flag, twice, then in a random order; the answers' userName/password must decrypt with the access key and
 * V1_ENCRYPT_TYPE. Refusals: a wrong authToken, another key, and (when V1_TIMESTAMP_MAX_AGE_SECONDS is set) a
 * timeStamp older than it. V1 carries no nonce, so there is no replay case: a repeat is a legitimate retry.
 */
export async function v1Suite(ctx: Context): Promise<void> {
  if (!ctx.settings.enableV1) {
    ctx.skip("v1", "V1 basic interface", "ENABLE_V1 is false: the deployment does not serve /saas/v1");
    return;
  }
  const key = ctx.settings.keys.saas;
  const type = ctx.settings.v1EncryptType;
  const saved = (name: string, params: () => Record<string, string>, more: Partial<SavedCase> = {}): SavedCase => ({
    name,
    build: () => v1Get(ctx.base, key, { ...params(), testFlag: "1" }),
    key,
    expect: ["000000"],
    ...more,
  });

  const orderId = debugOrderId("CSV1DEBUG");
  const productId = "OFFI-V1-DEBUG";
  const skuCode = "SKU-V1-DEBUG";
  const expireTime = inOneYear();
  let instanceId = "";
  const create = saved(
    "V1 newInstance",
    () => ({
      activity: "newInstance",
      customerId: `debug-customer-${orderId}`,
      customerName: "Debug Buyer",
      businessId: businessId(),
      orderId,
      skuCode,
      productId,
      chargingMode: "1",
      periodType: "month",
      periodNumber: "1",
      expireTime,
    }),
    {
      fields: (answer) => {
        const problems = [...createProblems(answer), ...v1AppInfoProblems(answer.json, answer.json?.appInfo, key, type)];
        const id = answer.json?.instanceId;
        if (!instanceId && typeof id === "string") instanceId = id;
        else if (typeof id === "string" && id !== instanceId) problems.push(`instanceId ${id} differs from the first answer's ${instanceId} (same order)`);
        return problems;
      },
    },
  );
  await ctx.playTwice("v1", create);
  instanceId ||= "missing-instance-id";

  const query = saved("V1 queryInstance", () => ({ activity: "queryInstance", instanceId }), {
    sameText: false,
    fields: (answer) => {
      const info = answer.json?.info;
      const entry = Array.isArray(info) ? (info.find((i: unknown) => (i as { instanceId?: unknown })?.instanceId === instanceId) as Record<string, unknown> | undefined) : undefined;
      if (!entry) return [`info[] has no entry for ${instanceId}`];
      return entry.appInfo === undefined ? [] : v1AppInfoProblems(answer.json, entry.appInfo, key, type);
    },
  });
  const renewal = debugOrderId("CSV1DEBUG");
  const upgrade = debugOrderId("CSV1DEBUG");
  const renewedUntil = inOneYear();
  const lifecycle: SavedCase[] = [
    query,
    saved("V1 refreshInstance", () => ({ activity: "refreshInstance", orderId: renewal, instanceId, productId, expireTime: renewedUntil, periodType: "month", periodNumber: "1" })),
    saved("V1 expireInstance", () => ({ activity: "expireInstance", instanceId, orderId })),
    saved("V1 instanceStatus FREEZE", () => ({ activity: "instanceStatus", instanceId, instanceStatus: "FREEZE" })),
    saved("V1 instanceStatus NORMAL", () => ({ activity: "instanceStatus", instanceId, instanceStatus: "NORMAL" })),
    saved("V1 upgrade", () => ({ activity: "upgrade", instanceId, orderId: upgrade, skuCode: `${skuCode}-PLUS`, productId })),
    saved("V1 releaseInstance", () => ({ activity: "releaseInstance", instanceId, orderId })),
  ];
  for (const one of lifecycle) await ctx.playTwice("v1", one);
  await ctx.playShuffled("v1", [create, ...lifecycle]);

  const params = { activity: "queryInstance", instanceId, testFlag: "1" };
  await ctx.refuse("v1", "refused: bad authToken", v1Get(ctx.base, key, params, { authToken: Buffer.from(hex(32), "hex").toString("base64") }), key);
  await ctx.refuse("v1", "refused: signed with another key", v1Get(ctx.base, `${key}-wrong`, params), key);
  if (ctx.settings.v1MaxAgeSeconds > 0) {
    const stale = Date.now() - (ctx.settings.v1MaxAgeSeconds + 3600) * 1000;
    await ctx.refuse("v1", "refused: stale timeStamp", v1Get(ctx.base, key, params, { timeStamp: stale }), key);
  } else ctx.skip("v1", "refused: stale timeStamp", "V1_TIMESTAMP_MAX_AGE_SECONDS is 0: any age is accepted");
}
