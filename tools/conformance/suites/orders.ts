import { v2Call } from "../client";
import type { Context, SavedCase } from "../framework";
import { bearer, debugOrderId } from "../ids";

/**
 * General-product order notification (marketplace-open-apis §3.2), POST /orders with GENERAL_ACCESS_KEY and the V2
 * signature: orderNotify with the debug flag answers 000000, and so does every repeat; then the refusals.
 */
export async function ordersSuite(ctx: Context): Promise<void> {
  const key = ctx.settings.keys.general;
  const orderId = debugOrderId();
  const body = { activity: "orderNotify", orderId, orderLineId: `${orderId}-000001`, testFlag: "1" };
  const probe = v2Call(ctx.base, "/orders", key, body, { signature: "0".repeat(64) });
  if (!(await ctx.served("orders", probe, "order notifications (POST /orders)"))) return;

  const second = debugOrderId();
  const cases: SavedCase[] = [
    { name: "orderNotify", build: () => v2Call(ctx.base, "/orders", key, body), key, expect: ["000000"] },
    { name: "orderNotify (another order)", build: () => v2Call(ctx.base, "/orders", key, { ...body, orderId: second, orderLineId: `${second}-000001` }), key, expect: ["000000"] },
  ];
  for (const one of cases) await ctx.playTwice("orders", one);
  await ctx.playShuffled("orders", cases);
  ctx.next(`debug general order ${orderId}: curl ${bearer} ${ctx.base}/api/v1/orders/${orderId}`);

  const tolerance = Math.max(ctx.settings.toleranceSeconds, 60) * 1000 + 60_000;
  await ctx.refuse("orders", "refused: bad signature", v2Call(ctx.base, "/orders", key, body, { signature: "0".repeat(64) }), key);
  await ctx.refuse("orders", "refused: signed with another key", v2Call(ctx.base, "/orders", `${key}-wrong`, body), key);
  await ctx.refuse("orders", "refused: stale timestamp", v2Call(ctx.base, "/orders", key, body, { timestamp: Date.now() - tolerance }), key);
  await ctx.replay("orders", "refused: replayed nonce", v2Call(ctx.base, "/orders", key, body), key, ["000000"]);
}
