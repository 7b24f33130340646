import { handleV2Basic } from "../dialects/v2";
import { parseV2BasicRequest } from "../protocol/schemas/parse";
import { basicSignatureParts } from "../protocol/v2-signature";
import { marketplaceEndpoint } from "./marketplace-endpoint";

/** POST /saas: the V2 basic production interface (spec saas-production-interface §3). */
export const v2BasicEndpoint = marketplaceEndpoint({
  name: "v2-basic",
  key: "saas",
  signatureParts: (_request, url) => basicSignatureParts(url),
  parse: parseV2BasicRequest,
  // Every V2 basic call reaches an instance actor (queryInstance: the one of its first id), which keeps the nonce.
  checksNonce: true,
  handle: (env, request, call) =>
    handleV2Basic(env, call.settings, { request, recordedRequest: call.recordedRequest, receivedAt: call.receivedAt, nonce: call.nonce, origin: call.origin }),
});
