import type { Settings } from "../env";
import type { CallEnvelope } from "../instances/commands";
import { createKeyOf, instanceIdFor } from "../instances/instance-id";
import type { V2BasicRequest } from "../protocol/schemas/v2-basic.schema";
import { parseV2ExpireTime } from "../protocol/time-formats";
import { handleGetLicenseAsync } from "../license/get-license.handler";
import type { SignedNonce } from "../protocol/v2-signature";
import { type CallAnswer, type DialectCall, envelopeOf, sendToActor } from "./actor-call";
import { answerContext } from "./answers";
import { queryInstances } from "./query-instance";

export interface V2Call extends DialectCall {
  request: V2BasicRequest;
  /** The origin the Marketplace called (the issuer of builtin online licenses). */
  origin: string;
  /** Required here: no V2 basic call goes without its replay check. */
  nonce: SignedNonce;
}

/** Routes one verified, parsed V2 basic call to its handler. Exhaustive: a new activity breaks the build. */
export async function handleV2Basic(env: Env, settings: Settings, call: V2Call): Promise<CallAnswer> {
  const { request } = call;
  switch (request.activity) {
    case "newInstance": {
      const createKey = createKeyOf(request.orderId, { orderLineId: request.orderLineId }, request.isTest);
      return sendToActor(env, settings, instanceIdFor(createKey), envelope(call, createKey), {
        kind: "create",
        createKey,
        orderId: request.orderId,
        orderLineId: request.orderLineId,
        productId: null,
        skuCode: null,
        chargingMode: null,
        expireAt: null,
      });
    }
    case "queryInstance":
      return queryInstances(env, settings, answerContext(settings, "v2"), request.instanceIds, request.isTest, call.nonce);
    case "refreshInstance":
      return sendToActor(env, settings, request.instanceId, envelope(call, `refresh:${request.orderId}:${request.scene}`), {
        kind: "lifecycle",
        event: "renew",
        expireAt: parseV2ExpireTime(request.expireTime),
        ...(request.productId ? { productId: request.productId } : {}),
        orderId: request.orderId,
        orderLineId: request.orderLineId,
        scene: request.scene,
      });
    case "updateInstanceStatus":
      // Idempotent by state, not by key: FREEZE, UNFREEZE, FREEZE again must all apply (spec §9).
      return sendToActor(env, settings, request.instanceId, envelope(call, null), {
        kind: "lifecycle",
        event: request.status === "FREEZE" ? "freeze" : "unfreeze",
        freezeReason: "marketplace",
      });
    case "releaseInstance":
      // Idempotent by state: a repeated release succeeds whatever its body (spec §3.5, §9).
      return sendToActor(env, settings, request.instanceId, envelope(call, null), {
        kind: "lifecycle",
        event: "release",
        ...(request.orderId ? { orderId: request.orderId } : {}),
        ...(request.orderLineId ? { orderLineId: request.orderLineId } : {}),
      });
    case "upgradeInstance":
      return sendToActor(env, settings, request.instanceId, envelope(call, `upgrade:${request.orderId}`), {
        kind: "lifecycle",
        event: "upgrade",
        orderId: request.orderId,
        orderLineId: request.orderLineId,
      });
    case "changeInstanceCheck":
      return sendToActor(env, settings, request.instanceId, envelope(call, null), { kind: "lifecycle", event: "checkChange" });
    case "getLicenseAsync":
      return handleGetLicenseAsync(env, settings, { request, receivedAt: call.receivedAt, origin: call.origin, nonce: call.nonce });
    default: {
      const unhandled: never = request;
      throw new Error(`unhandled activity ${JSON.stringify(unhandled)}`);
    }
  }
}

function envelope(call: V2Call, idempotencyKey: string | null): CallEnvelope {
  return envelopeOf("v2", call, idempotencyKey);
}
