import type { IRequest } from "itty-router";
import { inboxDigestKey } from "../crypto/inbox-digest-key";
import { getDb } from "../db/client";
import { d1ReplayStore } from "../db/nonce.repo";
import type { KeyKind, Settings } from "../env";
import { ReplayError } from "../protocol/errors";
import { decodeUtf8, parseJsonObject, readRawBody, requireJsonContentType } from "../protocol/inbound";
import { withoutPersonalFields } from "../protocol/personal-fields";
import { type SignedNonce, type SignedRequestParts, verifyV2Signature } from "../protocol/v2-signature";
import { type EndpointAnswer, answerCallback } from "./callback-shell";

export type { EndpointAnswer } from "./callback-shell";

export interface VerifiedCall {
  json: Record<string, unknown>;
  /**
   * What the inbox records: the body without personal fields, with a keyed digest of it as received. Computed only
   * for a call that is recorded (not for queryInstance, nor for kit syncs, which keep their own record).
   */
  recordedRequest: () => string;
  receivedAt: number;
  settings: Settings;
  /** The origin the Marketplace called (scheme and host of the production URL). */
  origin: string;
  /** Checked against replays before the handler runs, unless the endpoint `checksNonce` itself. */
  nonce: SignedNonce;
}

export interface MarketplaceEndpoint<T> {
  /** For logs: "v2-basic", "kit-v2:tenantSync", … */
  name: string;
  /** Which of the four keys verifies the call and signs its answer (spec README point 3). */
  key: KeyKind;
  signatureParts: (request: Request, url: URL) => SignedRequestParts;
  /** zod parsing; throws InvalidRequestError (000002). */
  parse: (json: Record<string, unknown>) => T;
  handle: (env: Env, parsed: T, call: VerifiedCall) => Promise<EndpointAnswer>;
  /**
   * The handler refuses replays itself, where that costs no extra round trip (V2 basic: in the instance actor's own
   * storage); otherwise the pipeline records the nonce in D1 before the handler runs.
   */
  checksNonce?: boolean;
  /** Larger than MAX_BODY_BYTES only where the spec allows big bodies (kit authSync: 500 users). */
  maxBodyBytes?: number;
}

/**
 * The pipeline every signed-JSON Marketplace callback goes through, in an order that stores nothing for bad input:
 * size → signature → content type → JSON → schema → nonce (the only write before the handler; or in the handler, for
 * endpoints that check it on their way) → handler.
 * Every answer is HTTP 200, JSON, with Body-Sign; errors included.
 */
export function marketplaceEndpoint<T>(endpoint: MarketplaceEndpoint<T>) {
  return (request: IRequest, env: Env, ctx?: ExecutionContext): Promise<Response> =>
    answerCallback(endpoint.name, env, endpoint.key, async ({ settings, key, receivedAt, noteActivity, markVerified }) => {
      const bytes = await readRawBody(request, endpoint.maxBodyBytes);
      const url = new URL(request.url);
      const { nonce, nonceExpiresAtMs } = verifyV2Signature(
        key,
        bytes,
        endpoint.signatureParts(request, url),
        receivedAt,
        settings.signatureToleranceMs,
      );
      markVerified();
      requireJsonContentType(request);
      const text = decodeUtf8(bytes);
      const json = parseJsonObject(text);
      noteActivity(json.activity);
      const parsed = endpoint.parse(json);
      if (!endpoint.checksNonce) {
        const fresh = await d1ReplayStore(getDb(env), receivedAt).remember(nonce, nonceExpiresAtMs);
        if (!fresh) throw new ReplayError();
      }
      const recordedRequest = () => withoutPersonalFields(json, bytes, inboxDigestKey(settings.dataKey));
      const signedNonce = { value: nonce, expiresAtMs: nonceExpiresAtMs };
      return endpoint.handle(env, parsed, { json, recordedRequest, receivedAt, settings, origin: url.origin, nonce: signedNonce });
    }, ctx);
}
