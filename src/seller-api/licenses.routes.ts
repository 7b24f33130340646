import { getInstanceActor } from "../actor/instance.actor";
import { getDb } from "../db/client";
import type { License } from "../db/schema/licenses";
import { licensesOfEvent } from "../license/license.repo";
import { licenseView } from "../license/online-license";
import { ErrorBody, commonErrors } from "./common.schema";
import { SellerApiError } from "./errors";
import { LicenseEventParams, LicenseQuery, LicenseState, LicenseSubmission } from "./licenses.schema";
import { MAX_SELLER_BODY_BYTES, defineRoute, json } from "./route";

/**
 * The event's license for this device. Without a device named, only an event with one device has an answer: guessing
 * among several would issue one device's license to another.
 */
async function licenseOf(env: Env, eventId: string, fingerprintSha256: string | undefined): Promise<License> {
  const rows = await licensesOfEvent(getDb(env), eventId);
  if (fingerprintSha256 === undefined && rows.length > 1) {
    throw new SellerApiError(400, `fingerprintSha256: required, event ${eventId} has ${rows.length} devices`);
  }
  const row = fingerprintSha256 === undefined ? rows[0] : rows.find((r) => r.fingerprintSha256 === fingerprintSha256);
  if (!row) throw new SellerApiError(404, `no license was requested for event ${eventId}${fingerprintSha256 ? " and that fingerprint" : ""}`);
  return row;
}

export const getLicense = defineRoute(
  {
    method: "get",
    path: "/api/v1/licenses/{eventId}",
    operationId: "getLicense",
    summary: "An online license (getLicenseAsync): its state, upload attempts and last error",
    params: LicenseEventParams,
    query: LicenseQuery,
    responses: {
      200: { description: "the license", schema: LicenseState },
      400: { description: "malformed event id or fingerprint, or no fingerprintSha256 for an event with several devices", schema: ErrorBody },
      404: { description: "no license was requested for this event", schema: ErrorBody },
      ...commonErrors,
    },
  },
  async ({ params, query, env }) => json(licenseView(await licenseOf(env, params.eventId, query.fingerprintSha256), true)),
);

export const postLicense = defineRoute(
  {
    method: "post",
    path: "/api/v1/licenses/{eventId}",
    operationId: "postLicense",
    summary: "LICENSE_MODE=webhook: issue the license your backend answered 202 to license.requested for",
    description: "The gateway uploads it to the Marketplace. The same body again is 200 (safe to retry); a different one once a license is issued is 409.",
    params: LicenseEventParams,
    body: LicenseSubmission,
    responses: {
      200: { description: "the license, now issued (uploading) or delivered", schema: LicenseState },
      400: { description: "malformed body (the reason names the field), or no fingerprintSha256 for an event with several devices", schema: ErrorBody },
      404: { description: "no license was requested for this event", schema: ErrorBody },
      409: { description: "a different license was already issued, or the request has failed", schema: ErrorBody },
      413: { description: `body larger than ${MAX_SELLER_BODY_BYTES} bytes`, schema: ErrorBody },
      ...commonErrors,
    },
  },
  async ({ params, body, env, now }) => {
    const { fingerprintSha256, ...license } = body;
    const row = await licenseOf(env, params.eventId, fingerprintSha256);
    const result = await getInstanceActor(env, row.instanceId).licenseSubmitted(row.id, license, now);
    if (result.status !== 200) throw new SellerApiError(result.status, result.error);
    return json(licenseView(result.row, true));
  },
);
