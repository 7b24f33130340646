import { getOrderActor } from "../actor/order.actor";
import { withinBudget } from "../dialects/actor-call";
import { requestFingerprint } from "../instances/fingerprint";
import { withPersonalFieldsRemoved } from "../protocol/personal-fields";
import { ResultCode } from "../protocol/result-codes";
import type { OrderNotify } from "../protocol/schemas/order-notify.schema";
import type { EndpointAnswer, VerifiedCall } from "../routes/marketplace-endpoint";

/**
 * orderNotify (marketplace-open-apis §3.2): recorded by the order line's actor, then answered 000000 at once; the
 * order itself is fetched in the background. Nothing is acknowledged that is not stored: an actor slower than the
 * answer budget gets 000004, and the Marketplace's retry meets the record (or makes it).
 */
export async function handleOrderNotify(env: Env, request: OrderNotify, call: VerifiedCall): Promise<EndpointAnswer> {
  const key = { orderId: request.orderId, orderLineId: request.orderLineId, isTest: request.isTest };
  // Over the fields that define the notification, as before `extra` was kept: a repeat's fingerprint is the first's.
  const fingerprint = requestFingerprint({ activity: request.activity, orderId: request.orderId, orderLineId: request.orderLineId, isTest: request.isTest });
  const extra = withPersonalFieldsRemoved(request.extra);
  const work = getOrderActor(env, key).notify({ key, fingerprint, extra, requestText: call.recordedRequest(), receivedAt: call.receivedAt });
  const outcome = await withinBudget<{ resultCode: string; resultMsg: string }>(work, () => ({ resultCode: ResultCode.Processing, resultMsg: "processing; retry for the result" }));
  return { text: JSON.stringify({ resultCode: outcome.resultCode, resultMsg: outcome.resultMsg }), resultCode: outcome.resultCode };
}
