import type { IRequest } from "itty-router";
import { KIT_MAX_BODY_BYTES, decryptKitSecret, handleKitSync } from "../dialects/kit";
import { getSettings } from "../env";
import { parseKitRequest } from "../protocol/schemas/parse";
import { KIT_TIMESTAMP } from "../protocol/time-formats";
import { kitSignatureParts } from "../protocol/v2-signature";
import { marketplaceEndpoint } from "./marketplace-endpoint";
import { decodePathSegment } from "./path-params";
import { v1Endpoint, v1KitInput } from "./v1-endpoint";

/*
 * Joint-operation kit syncs (spec saas-production-interface §6). The name in the path picks the sync; an unknown
 * name is refused (000002) only after the call proved authentic, like any other bad parameter.
 */

/** The sync's name, decoded; a malformed escape stays as sent and is refused as an unknown name (000002). */
function syncNameOf(request: IRequest): string {
  const raw = String(request.params.name ?? "");
  return decodePathSegment(raw) ?? raw;
}

/** POST /saas/produceAPI/v2/{name}: x-sign / x-timestamp / x-nonce, key KIT_ACCESS_KEY (§2.3). */
export function kitV2Route(request: IRequest, env: Env, ctx?: ExecutionContext): Promise<Response> {
  const name = syncNameOf(request);
  return marketplaceEndpoint({
    name: `kit-v2:${name.slice(0, 40)}`,
    key: "kit",
    signatureParts: (req) => kitSignatureParts(req.headers),
    maxBodyBytes: KIT_MAX_BODY_BYTES,
    parse: (json) => decryptKitSecret(parseKitRequest(name, "v2", json), getSettings(env)),
    handle: (handlerEnv, kit, call) => handleKitSync(handlerEnv, call.settings, kit, { json: call.json, receivedAt: call.receivedAt }),
  })(request, env, ctx);
}

/** POST /saas/v1/produceAPI/{name}: `authToken` header over the body's top-level fields (§5.1), UTC+8 timeStamp. */
export function kitV1Route(request: IRequest, env: Env, ctx?: ExecutionContext): Promise<Response> {
  const name = syncNameOf(request);
  return v1Endpoint({
    name: `kit-v1:${name.slice(0, 40)}`,
    key: "kit",
    read: v1KitInput,
    timeStampFormat: KIT_TIMESTAMP,
    parse: (input) => decryptKitSecret(parseKitRequest(name, "v1", input.json), getSettings(env)),
    handle: (handlerEnv, kit, call) =>
      handleKitSync(handlerEnv, call.settings, kit, { json: call.input.json ?? {}, receivedAt: call.receivedAt, authToken: call.authToken }),
  })(request, env, ctx);
}
