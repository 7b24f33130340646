import { handleLicenseCodeCallback } from "../license-codes/license-callbacks";
import { handleGetLicenseAsync } from "../license/get-license.handler";
import { InvalidRequestError } from "../protocol/errors";
import type { LicenseActivity, LicenseRequest } from "../protocol/schemas/license.schema";
import { parseLicenseRequest } from "../protocol/schemas/parse";
import { basicSignatureParts } from "../protocol/v2-signature";
import { type EndpointAnswer, type VerifiedCall, marketplaceEndpoint } from "./marketplace-endpoint";

type RequestOf<A extends LicenseActivity> = Extract<LicenseRequest, { activity: A }>;
export type LicenseHandler<A extends LicenseActivity> = (env: Env, request: RequestOf<A>, call: VerifiedCall) => Promise<EndpointAnswer>;

/**
 * Which module answers each activity of POST /license (marketplace-open-apis §3.3, §3.4). An activity without a
 * handler here is refused with 000002 before anything is stored, as an unknown one is.
 */
export const LICENSE_HANDLERS: { [A in LicenseActivity]?: LicenseHandler<A> } = {
  refreshLicenseCode: handleLicenseCodeCallback,
  updateLicenseCodeStatus: handleLicenseCodeCallback,
  releaseLicenseCode: handleLicenseCodeCallback,
  getLicenseAsync: (env, request, call) =>
    handleGetLicenseAsync(env, call.settings, { request, receivedAt: call.receivedAt, origin: call.origin }),
};

function handlerOf<A extends LicenseActivity>(activity: A): LicenseHandler<A> | undefined {
  return LICENSE_HANDLERS[activity] as LicenseHandler<A> | undefined;
}

function parseServed(json: Record<string, unknown>): LicenseRequest {
  const request = parseLicenseRequest(json);
  if (!handlerOf(request.activity)) throw new InvalidRequestError(`activity "${request.activity}" is not served on this interface`);
  return request;
}

async function dispatch<A extends LicenseActivity>(env: Env, request: RequestOf<A>, call: VerifiedCall): Promise<EndpointAnswer> {
  const handler = handlerOf<A>(request.activity as A);
  if (!handler) throw new InvalidRequestError(`activity "${request.activity}" is not served on this interface`);
  return handler(env, request, call);
}

/** POST /license: license-code callbacks and online licenses, key LICENSE_ACCESS_KEY (V2 query signature, §3.1). */
export const licenseEndpoint = marketplaceEndpoint({
  name: "license",
  key: "license",
  signatureParts: (_request, url) => basicSignatureParts(url),
  parse: parseServed,
  handle: (env, request, call) => dispatch(env, request, call),
});
