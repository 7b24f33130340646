import { handleV1Basic } from "../dialects/v1";
import { parseV1BasicRequest } from "../protocol/schemas/parse";
import { V1_TIMESTAMP } from "../protocol/time-formats";
import { v1Endpoint, v1GetInput } from "./v1-endpoint";

/** GET /saas/v1: the V1 legacy basic interface (spec saas-production-interface §5), key SAAS_ACCESS_KEY. */
export const v1BasicEndpoint = v1Endpoint({
  name: "v1-basic",
  key: "saas",
  read: v1GetInput,
  timeStampFormat: V1_TIMESTAMP,
  parse: (input) => parseV1BasicRequest(input.params),
  handle: (env, request, call) =>
    handleV1Basic(env, call.settings, { request, recordedRequest: call.input.recordedRequest, receivedAt: call.receivedAt, authToken: call.authToken }),
});
