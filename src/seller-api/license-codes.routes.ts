import { getDb } from "../db/client";
import { getSettings } from "../env";
import { issueLicenseClientToken } from "../crypto/license-client-token";
import { type EdgeAnswer, activateCode, admit, heartbeatCode, notKnownForProduct, readCode } from "../license-codes/edge-service";
import { MAX_PENDING_USAGE_PER_CODE } from "../license-codes/rate-limits";
import { USAGE_SEND_INTERVAL_SECONDS, enqueueCapped } from "../license-codes/usage-queue";
import { ErrorBody, commonErrors } from "./common.schema";
import { SellerApiError, retryLater } from "./errors";
import {
  ActivateBody,
  ClientToken,
  ClientTokenRequest,
  HeartbeatBody,
  LicenseCode,
  LicenseCodeAnswer,
  LicenseCodeParams,
  MarketplaceRefusal,
  Queued,
  SoftwareUsageBody,
} from "./license-codes.schema";
import { MAX_SELLER_BODY_BYTES, defineRoute, json } from "./route";

/*
 * The edge license service (README "License codes"): your installed software calls these with a license client token
 * of its product (or your backend with SELLER_API_TOKEN), and the gateway calls the Marketplace with AK/SK.
 */

const answer = (result: EdgeAnswer): Response => (result.status === 429 ? retryLater(result.body.error, result.retryAfterSeconds) : json(result.body, result.status));

/** Every route that spends the seller's open-API quota (docs/license-rules.md rules 3 and 4). */
const tooManyCalls = {
  description:
    "a limit was reached: this license client token's calls per minute, this code's calls per hour, or (software-usage) the code's 1000 reports waiting to be sent; nothing was done",
  schema: ErrorBody,
  headers: { "Retry-After": { description: "seconds to wait before calling again", schema: { type: "integer", minimum: 1 } } },
};

const marketplaceErrors = {
  400: { description: "malformed request, or the Marketplace's 92020002 (invalid parameter)", schema: MarketplaceRefusal },
  404: { description: "not a code of this token's product, or the Marketplace's 92020005 (no such code)", schema: MarketplaceRefusal },
  413: { description: `body larger than ${MAX_SELLER_BODY_BYTES} bytes`, schema: ErrorBody },
  429: tooManyCalls,
  503: { description: "the Marketplace is unavailable (or refused the gateway's credentials: code 92020001); the gateway's settings are broken", schema: MarketplaceRefusal },
  401: commonErrors[401],
};

export const activateLicenseCode = defineRoute(
  {
    method: "post",
    path: "/api/v1/license-codes/{code}/activate",
    operationId: "activateLicenseCode",
    summary: "Activate a license code with the Marketplace (once, on the software's first start)",
    description: "Repeating it is safe. The first activation emits license.activated.",
    licenseClient: true,
    params: LicenseCodeParams,
    body: ActivateBody,
    responses: {
      200: { description: "activated; the code's record", schema: LicenseCodeAnswer },
      409: { description: "the Marketplace's 92020004: the buyer has not received the code yet", schema: MarketplaceRefusal },
      ...marketplaceErrors,
    },
  },
  async ({ params, body, env, now, caller }) => {
    const effect = body.realEffectTime === undefined ? undefined : Date.parse(body.realEffectTime);
    return answer(await activateCode(env, getSettings(env), caller, params.code, effect, now));
  },
);

export const heartbeatLicenseCode = defineRoute(
  {
    method: "post",
    path: "/api/v1/license-codes/{code}/heartbeat",
    operationId: "heartbeatLicenseCode",
    summary: "The daily heartbeat (查询授权码): the code's status from the Marketplace",
    description:
      'When the Marketplace does not answer (network, timeout, 5xx) and its last confirmed heartbeat is within 24 h, the record answers: "source": "cache". Later than that: 503.',
    licenseClient: true,
    params: LicenseCodeParams,
    body: HeartbeatBody,
    responses: {
      200: { description: "the code's state, from the Marketplace or (source cache) from the record", schema: LicenseCodeAnswer },
      409: { description: "the Marketplace's 92020004", schema: MarketplaceRefusal },
      ...marketplaceErrors,
    },
  },
  async ({ params, body, env, now, caller }) => {
    const info = body.thirdPartyAccount === undefined && body.ip === undefined ? undefined : body;
    return answer(await heartbeatCode(env, getSettings(env), caller, params.code, info, now));
  },
);

export const getLicenseCode = defineRoute(
  {
    method: "get",
    path: "/api/v1/license-codes/{code}",
    operationId: "getLicenseCode",
    summary: "The code's record: from the callbacks, the activation and the heartbeats",
    licenseClient: true,
    params: LicenseCodeParams,
    responses: {
      200: { description: "the record", schema: LicenseCode },
      400: { description: "malformed code", schema: ErrorBody },
      404: { description: "no such code (for this token's product)", schema: ErrorBody },
      ...commonErrors,
    },
  },
  async ({ params, env, caller }) => {
    const view = await readCode(env, caller, params.code);
    if (!view) throw new SellerApiError(404, notKnownForProduct(params.code));
    return json(view);
  },
);

export const postSoftwareUsage = defineRoute(
  {
    method: "post",
    path: "/api/v1/license-codes/{code}/software-usage",
    operationId: "postSoftwareUsage",
    summary: "Queue software-usage statistics (授权码软件使用统计) for the Marketplace",
    description: "Each entry is a software instance id or a count of active users; the gateway sends them in batches within minutes.",
    licenseClient: true,
    params: LicenseCodeParams,
    body: SoftwareUsageBody,
    responses: {
      200: { description: "queued", schema: Queued },
      400: { description: "malformed entries", schema: ErrorBody },
      404: { description: "not a code of this token's product", schema: ErrorBody },
      413: { description: `body larger than ${MAX_SELLER_BODY_BYTES} bytes`, schema: ErrorBody },
      429: tooManyCalls,
      ...commonErrors,
    },
  },
  async ({ params, body, env, now, caller }) => {
    const admitted = await admit(env, caller, params.code, "softwareUsage", now);
    if ("refused" in admitted) return answer(admitted.refused);
    const db = getDb(env);
    const entries = body.entries.map((entry) => ("id" in entry ? { id: entry.id } : { active_num: entry.activeNum }));
    const queued = await enqueueCapped(db, params.code, entries, now);
    if (queued === undefined) {
      return retryLater(
        `license code ${params.code} has ${MAX_PENDING_USAGE_PER_CODE} usage reports waiting to be sent to the Marketplace; report again after the next send`,
        USAGE_SEND_INTERVAL_SECONDS,
      );
    }
    return json({ queued });
  },
);

export const postLicenseClientToken = defineRoute(
  {
    method: "post",
    path: "/api/v1/license-client-tokens",
    operationId: "postLicenseClientToken",
    summary: "Issue the license client token of a product, to embed in its installed software",
    description:
      "Derived, not stored: the same product and generation always give the same token. Rotate with LICENSE_CLIENT_TOKEN_GENERATION (README).",
    body: ClientTokenRequest,
    responses: {
      200: { description: "the token", schema: ClientToken },
      400: { description: "malformed body", schema: ErrorBody },
      ...commonErrors,
    },
  },
  async ({ body, env }) => {
    const settings = getSettings(env);
    const generation = settings.licenseClientTokenGeneration;
    return json({ token: issueLicenseClientToken(settings.dataKey, body.productId, generation), productId: body.productId, generation });
  },
);

export const licenseCodeRoutes = [activateLicenseCode, heartbeatLicenseCode, getLicenseCode, postSoftwareUsage, postLicenseClientToken];
