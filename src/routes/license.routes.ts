import type { Settings } from "../env";
import { handleGetLicenseAsync } from "../license/get-license.handler";
import { InvalidRequestError } from "../protocol/errors";
import type { LicenseActivity, LicenseRequest } from "../protocol/schemas/license.schema";
import { parseLicenseRequest } from "../protocol/schemas/parse";
import { basicSignatureParts } from "../protocol/v2-signature";
import { type EndpointAnswer, type VerifiedCall, marketplaceEndpoint } from "./marketplace-endpoint";

type LicenseHandler<A extends LicenseActivity> = (
  env: Env,
  settings: Settings,
  request: Extract<LicenseRequest, { activity: A }>,
  call: VerifiedCall,
) => Promise<EndpointAnswer>;

/**
 * Which module answers each license activity. The license-code callbacks (refreshLicenseCode,
 * updateLicenseCodeStatus, releaseLicenseCode) join this table from their own module.
 */
const handlers: { [A in LicenseActivity]?: LicenseHandler<A> } = {
  getLicenseAsync: (env, settings, request, call) => handleGetLicenseAsync(env, settings, { request, receivedAt: call.receivedAt, origin: call.origin }),
};

function dispatch<A extends LicenseActivity>(env: Env, request: Extract<LicenseRequest, { activity: A }>, call: VerifiedCall): Promise<EndpointAnswer> {
  const handler = handlers[request.activity as A] as LicenseHandler<A> | undefined;
  if (!handler) throw new InvalidRequestError(`activity ${request.activity} is not served here`);
  return handler(env, call.settings, request, call);
}

/** POST /license: license callbacks (marketplace-open-apis.md §3.3, §3.4), V2 signature, LICENSE_ACCESS_KEY. */
export const licenseEndpoint = marketplaceEndpoint({
  name: "license",
  key: "license",
  signatureParts: (_request, url) => basicSignatureParts(url),
  parse: parseLicenseRequest,
  handle: (env, request, call) => dispatch(env, request, call),
});
