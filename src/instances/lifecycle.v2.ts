import { openSecret } from "../crypto/data-key";
import { getDb } from "../db/client";
import type { Instance } from "../db/schema/instances";
import type { Settings } from "../env";
import { ResultCode } from "../protocol/result-codes";
import type { V2BasicRequest } from "../protocol/schemas/v2-basic.schema";
import { parseV2ExpireTime } from "../protocol/time-formats";
import { type AnswerContext, type QueryInfo, answerContext, answerText, queryAnswerText } from "./answers";
import type { AppInfo, CallEnvelope, InstanceCommand } from "./commands";
import { requestFingerprint } from "./fingerprint";
import { type ActorAnswer, getInstanceActor } from "./instance.actor";
import { createKeyOf, instanceIdFor } from "./instance-id";
import { findInstances } from "./instance.repo";

/** The Marketplace gives up after 5 s (spec README point 4); we answer within 3 s whatever the actor is doing. */
export const ANSWER_BUDGET_MS = 2_500;

export interface V2Call {
  request: V2BasicRequest;
  requestText: string;
  receivedAt: number;
}

/** Routes one verified, parsed V2 basic call to its handler. Exhaustive: a new activity breaks the build. */
export async function handleV2Basic(env: Env, settings: Settings, call: V2Call): Promise<ActorAnswer> {
  const { request } = call;
  switch (request.activity) {
    case "newInstance": {
      const createKey = createKeyOf(request.orderId, { orderLineId: request.orderLineId });
      const instanceId = instanceIdFor(createKey);
      return sendToActor(env, settings, instanceId, envelope(call, createKey), {
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
      return queryInstances(env, settings, answerContext(settings, "v2"), request.instanceIds, request.isTest);
    case "refreshInstance":
      return sendToActor(env, settings, request.instanceId, envelope(call, `refresh:${request.orderId}:${request.scene}`), {
        kind: "lifecycle",
        event: { kind: "renew" },
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
        event: { kind: request.status === "FREEZE" ? "freeze" : "unfreeze" },
      });
    case "releaseInstance":
      return sendToActor(env, settings, request.instanceId, envelope(call, `release:${request.instanceId}`), {
        kind: "lifecycle",
        event: { kind: "release" },
        ...(request.orderId ? { orderId: request.orderId } : {}),
        ...(request.orderLineId ? { orderLineId: request.orderLineId } : {}),
      });
    case "upgradeInstance":
      return sendToActor(env, settings, request.instanceId, envelope(call, `upgrade:${request.orderId}`), {
        kind: "lifecycle",
        event: { kind: "upgrade" },
        orderId: request.orderId,
        orderLineId: request.orderLineId,
      });
    case "changeInstanceCheck":
      return sendToActor(env, settings, request.instanceId, envelope(call, null), { kind: "lifecycle", event: { kind: "checkChange" } });
    default: {
      const unhandled: never = request;
      throw new Error(`unhandled activity ${JSON.stringify(unhandled)}`);
    }
  }
}

function envelope(call: V2Call, idempotencyKey: string | null): CallEnvelope {
  const { request } = call;
  return {
    dialect: "v2",
    activity: request.activity,
    idempotencyKey: idempotencyKey && request.isTest ? `test:${idempotencyKey}` : idempotencyKey,
    fingerprint: requestFingerprint(request),
    requestText: call.requestText,
    isTest: request.isTest,
    receivedAt: call.receivedAt,
  };
}

/** Shared by every dialect (lifecycle.v1.ts): the actor's answer, or 000004 when it takes longer than the budget. */
export async function sendToActor(
  env: Env,
  settings: Settings,
  instanceId: string,
  callEnvelope: CallEnvelope,
  command: InstanceCommand,
): Promise<ActorAnswer> {
  const actor = getInstanceActor(env, instanceId);
  const work = actor.apply(instanceId, callEnvelope, command);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<ActorAnswer>((resolve) => {
    timer = setTimeout(() => {
      // Not recorded: the actor finishes on its own and the Marketplace's next attempt gets the recorded answer.
      const outcome =
        command.kind === "create"
          ? { resultCode: ResultCode.Processing, resultMsg: "processing", instanceId }
          : { resultCode: ResultCode.Processing, resultMsg: "processing; retry for the result" };
      resolve({ text: answerText(answerContext(settings, callEnvelope.dialect), outcome), resultCode: outcome.resultCode });
    }, ANSWER_BUDGET_MS);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** queryInstance for every dialect: one D1 read; the context decides V1 encryption. */
export async function queryInstances(
  env: Env,
  settings: Settings,
  context: AnswerContext,
  ids: readonly string[],
  isTest: boolean,
): Promise<ActorAnswer> {
  const rows = await findInstances(getDb(env), ids);
  const byId = new Map(rows.map((row) => [row.id, row]));
  const known = ids.filter((id) => byId.has(id));
  if (known.length === 0 && !isTest) {
    const text = JSON.stringify({ resultCode: ResultCode.InstanceNotFound, resultMsg: `no such instance: ${ids.join(",").slice(0, 200)}` });
    return { text, resultCode: ResultCode.InstanceNotFound };
  }
  const info = await Promise.all(
    ids.map(async (id) => {
      const row = byId.get(id);
      // A saved debug case may ask for an id this deployment never saw (spec README point 11).
      if (!row) return isTest ? { instanceId: id } : undefined;
      return instanceInfo(settings, row);
    }),
  );
  const stillProvisioning = known.some((id) => byId.get(id)?.status === "provisioning");
  const resultCode = stillProvisioning ? ResultCode.Processing : ResultCode.Success;
  const text = queryAnswerText(
    context,
    resultCode,
    stillProvisioning ? "provisioning" : "success",
    info.filter((entry) => entry !== undefined),
  );
  return { text, resultCode };
}

/** The buyer's way in for a row, in plain text; undefined appInfo until it is usable. */
export async function instanceInfo(settings: Settings, row: Instance): Promise<QueryInfo> {
  if (row.status === "provisioning" || row.status === "released" || row.status === "failed" || !row.frontendUrl) {
    return { instanceId: row.id };
  }
  const appInfo: AppInfo = { frontEndUrl: row.frontendUrl };
  if (row.adminUrl) appInfo.adminUrl = row.adminUrl;
  if (row.adminUserName) appInfo.userName = row.adminUserName;
  if (row.adminPasswordSealed) appInfo.password = await openSecret(settings.dataKey, row.adminPasswordSealed);
  return { instanceId: row.id, appInfo };
}
