import { getDb } from "../db/client";
import { findInstance } from "../instances/instance.repo";
import type { SellerWriteResult } from "../instances/seller-commands";
import { ErrorBody, InstanceIdParams, commonErrors } from "./common.schema";
import { SellerApiError } from "./errors";
import { getInstanceActor } from "../actor/instance.actor";
import { Credentials, Entitlement } from "./instances.schema";
import { Provisioned, ProvisioningFailed } from "./provisioning.schema";
import { MAX_SELLER_BODY_BYTES, defineRoute, json } from "./route";

/** An id no purchase ever had is answered here, without waking an actor for it. */
async function requireKnown(env: Env, instanceId: string): Promise<void> {
  const row = await findInstance(getDb(env), instanceId);
  if (!row) throw new SellerApiError(404, `instance ${instanceId} does not exist`);
}

function answer(result: SellerWriteResult): Response {
  if (result.status === 200) return json(result.entitlement);
  throw new SellerApiError(result.status, result.error);
}

const writeErrors = {
  400: { description: "malformed body (the reason names the field)", schema: ErrorBody },
  404: { description: "no such instance", schema: ErrorBody },
  409: { description: "not waiting for your backend (builtin mode, or already finished differently)", schema: ErrorBody },
  413: { description: `body larger than ${MAX_SELLER_BODY_BYTES} bytes`, schema: ErrorBody },
  ...commonErrors,
};

export const postProvisioned = defineRoute(
  {
    method: "post",
    path: "/api/v1/instances/{id}/provisioned",
    operationId: "postProvisioned",
    summary: "Webhook mode: finish a provisioning your backend answered 202",
    description: "The same body again is 200 (safe to retry); a different body once the instance is provisioned is 409.",
    params: InstanceIdParams,
    body: Provisioned,
    responses: { 200: { description: "the entitlement, now active", schema: Entitlement }, ...writeErrors },
  },
  async ({ params, body, env, now }) => {
    await requireKnown(env, params.id);
    return answer(await getInstanceActor(env, params.id).provisioned(params.id, body, now));
  },
);

export const postProvisioningFailed = defineRoute(
  {
    method: "post",
    path: "/api/v1/instances/{id}/provisioning-failed",
    operationId: "postProvisioningFailed",
    summary: "Webhook mode: fail a provisioning your backend answered 202; the Marketplace gets resultCode",
    params: InstanceIdParams,
    body: ProvisioningFailed,
    responses: { 200: { description: "the entitlement, now failed", schema: Entitlement }, ...writeErrors },
  },
  async ({ params, body, env, now }) => {
    await requireKnown(env, params.id);
    return answer(await getInstanceActor(env, params.id).provisioningFailed(params.id, body, now));
  },
);

export const getCredentials = defineRoute(
  {
    method: "get",
    path: "/api/v1/instances/{id}/credentials",
    operationId: "getCredentials",
    summary: "Builtin mode: the login the gateway issued to the buyer; every read is audited",
    params: InstanceIdParams,
    responses: {
      200: { description: "the issued login", schema: Credentials },
      400: { description: "malformed id", schema: ErrorBody },
      404: { description: "no such instance", schema: ErrorBody },
      409: { description: "no login issued by the gateway (webhook mode, or not provisioned yet)", schema: ErrorBody },
      ...commonErrors,
    },
  },
  async ({ params, env, now }) => {
    await requireKnown(env, params.id);
    const result = await getInstanceActor(env, params.id).credentials(params.id, now);
    if (result.status !== 200) throw new SellerApiError(result.status, result.error);
    return json({ userName: result.userName, password: result.password });
  },
);
