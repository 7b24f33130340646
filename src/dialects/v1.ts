import { createHash } from "node:crypto";
import type { Settings } from "../env";
import type { CallEnvelope } from "../instances/commands";
import { instanceIdFor, v1CreateKey } from "../instances/instance-id";
import type { V1BasicRequest, V1NewInstance, V1RefreshInstance } from "../protocol/schemas/v1-basic.schema";
import { parseCompactUtc } from "../protocol/time-formats";
import { decryptV1Field } from "../protocol/v1-field-crypto";
import { type CallAnswer, type DialectCall, envelopeOf, sendToActor } from "./actor-call";
import { answerContext } from "./answers";
import { queryInstances } from "./query-instance";

export interface V1Call extends DialectCall {
  request: V1BasicRequest;
  /** The verified authToken: unique per signed call, so it keys the calls that are otherwise idempotent by state. */
  authToken: string;
}

/** V1 `chargingMode` codes (spec §5.3) in the words the Query Order API uses, so one column holds one vocabulary. */
const V1_CHARGING_MODES: Readonly<Record<number, string>> = { 0: "ON_DEMAND", 1: "PERIOD", 3: "ONE_TIME", 5: "ON_DEMAND_PKG" };

/**
 * Parameters that change on every retry, are ciphertext under a fresh IV, or name a person (an unkeyed hash of a name
 * in the inbox could be guessed back): none of them decides whether two calls are the same purchase.
 */
const V1_VOLATILE = ["businessId", "timeStamp", "mobilePhone", "email", "customerName", "userName", "userId", "saasExtendParams"] as const;

/** Routes one verified, parsed V1 call onto the same actor and state machine as V2. Exhaustive. */
export async function handleV1Basic(env: Env, settings: Settings, call: V1Call): Promise<CallAnswer> {
  const { request } = call;
  switch (request.activity) {
    case "newInstance":
      return newInstance(env, settings, call, request);
    case "queryInstance":
      return queryInstances(env, settings, answerContext(settings, "v1"), request.instanceIds, request.isTest);
    case "refreshInstance":
      return sendToActor(env, settings, request.instanceId, envelope(call, `v1:refresh:${request.orderId}`), {
        kind: "lifecycle",
        event: "renew",
        expireAt: parseCompactUtc(request.expireTime, "expireTime"),
        ...(request.productId ? { productId: request.productId } : {}),
        orderId: request.orderId,
        scene: refreshScene(request),
      });
    case "expireInstance":
      // V1 has no unfreeze for an expiry: the freeze records why, so a renewal into the future lifts it.
      return sendToActor(env, settings, request.instanceId, envelope(call, stateKey(call)), {
        kind: "lifecycle",
        event: "freeze",
        freezeReason: "expired-v1",
        orderId: request.orderId,
      });
    case "instanceStatus":
      return sendToActor(env, settings, request.instanceId, envelope(call, stateKey(call)), {
        kind: "lifecycle",
        event: request.instanceStatus === "FREEZE" ? "freeze" : "unfreeze",
        freezeReason: "marketplace",
      });
    case "releaseInstance":
      // Idempotent by state: a repeated release succeeds whatever its parameters (spec §9).
      return sendToActor(env, settings, request.instanceId, envelope(call, null), {
        kind: "lifecycle",
        event: "release",
        orderId: request.orderId,
      });
    case "upgrade":
      return sendToActor(env, settings, request.instanceId, envelope(call, `v1:upgrade:${request.orderId}`), {
        kind: "lifecycle",
        event: "upgrade",
        orderId: request.orderId,
        productId: request.productId,
      });
    default: {
      const unhandled: never = request;
      throw new Error(`unhandled V1 activity ${JSON.stringify(unhandled)}`);
    }
  }
}

async function newInstance(env: Env, settings: Settings, call: V1Call, request: V1NewInstance): Promise<CallAnswer> {
  // The buyer's contact is only proven readable (a wrong key or encryptType shows up here, as 000002, instead of as
  // garbage later); the gateway keeps no copy: the seller's app gets buyer data from Query Order.
  if (request.mobilePhone) decryptV1Field(settings.keys.saas, request.mobilePhone, settings.v1EncryptType, "mobilePhone");
  if (request.email) decryptV1Field(settings.keys.saas, request.email, settings.v1EncryptType, "email");
  const createKey = v1CreateKey(request.orderId, request.productId, request.chargingMode, request.isTest);
  const instanceId = instanceIdFor(createKey);
  // Its own inbox key: V1 and V2 answers differ in shape, so neither may be replayed to the other; both still reach
  // the one actor through the shared create key.
  // The actor answers from the instance's state, with the buyer's way in once it exists, so the 资源详情 page's
  // re-calls (§5.3) and a V1 call meeting a V2-created instance both get it.
  return sendToActor(env, settings, instanceId, envelope(call, `v1:${createKey}`), {
    kind: "create",
    createKey,
    orderId: request.orderId,
    // The Query Order call then takes the order's only line itself rather than a line id we inferred.
    orderLineId: null,
    productId: request.productId,
    skuCode: request.skuCode,
    chargingMode: request.chargingMode === undefined ? null : (V1_CHARGING_MODES[request.chargingMode] ?? String(request.chargingMode)),
    expireAt: request.expireTime ? parseCompactUtc(request.expireTime, "expireTime") : null,
  });
}

/** V1 has no `scene`; its flags say which V2 scene the call is, for the audit trail. */
function refreshScene(request: V1RefreshInstance): string {
  if (request.isTrialToFormal) return "TRIAL_TO_FORMAL";
  if (request.orderAmount?.startsWith("-")) return "UNSUBSCRIBE_RENEWAL_PERIOD";
  return "RENEWAL";
}

/**
 * Status changes are idempotent by state, so FREEZE, NORMAL, FREEZE must each apply; only the very same signed call
 * (a retry or a replay: V1 has no nonce) is answered from the record, so a replayed old FREEZE cannot undo a NORMAL.
 */
function stateKey(call: V1Call): string {
  const digest = createHash("sha256").update(call.authToken).digest("hex").slice(0, 32);
  return `v1:${call.request.activity}:${digest}`;
}

function envelope(call: V1Call, idempotencyKey: string | null): CallEnvelope {
  return envelopeOf("v1", call, idempotencyKey, V1_VOLATILE);
}
