import type { IRequest } from "itty-router";
import type { KeyKind, Settings } from "../env";
import { AuthError, GatewayError } from "../protocol/errors";
import { inboxDigestKey } from "../crypto/inbox-digest-key";
import { KIT_MAX_BODY_BYTES } from "../dialects/kit";
import { decodeUtf8, parseJsonObject, readRawBody, requireJsonContentType } from "../protocol/inbound";
import { withoutPersonalFields } from "../protocol/personal-fields";
import { ResultCode } from "../protocol/result-codes";
import type { TimeFormat } from "../protocol/time-formats";
import { v1KitBodyParams, v1QueryParams, verifyV1AuthToken } from "../protocol/v1-auth-token";
import { type EndpointAnswer, answerCallback } from "./callback-shell";

/** What a V1 call signs: the parameters the authToken covers, and the token itself. */
export interface V1SignedInput {
  params: Record<string, string>;
  authToken: string | null;
  /** The JSON body of a kit POST; undefined for a GET. */
  json?: Record<string, unknown>;
  /** What the inbox records of the call, computed only when it is recorded: for a GET see v1GetInput. */
  recordedRequest: () => string;
}

export interface V1VerifiedCall {
  input: V1SignedInput;
  authToken: string;
  receivedAt: number;
  settings: Settings;
}

export interface V1Endpoint<T> {
  /** For logs: "v1-basic", "kit-v1:tenantSync", … */
  name: string;
  key: KeyKind;
  /** Reads what the token signs; for a POST this is where size, content type and JSON are checked. */
  read: (request: IRequest, settings: Settings) => Promise<V1SignedInput>;
  /** V1 basic `timeStamp` is UTC, the kit's is UTC+8 (spec README point 6). */
  timeStampFormat: TimeFormat;
  /** zod parsing; throws InvalidRequestError (000002). */
  parse: (input: V1SignedInput) => T;
  handle: (env: Env, parsed: T, call: V1VerifiedCall) => Promise<EndpointAnswer>;
}

export class V1DisabledError extends GatewayError {
  constructor() {
    super(ResultCode.AuthFailed, "V1 interface is disabled", "ENABLE_V1 is false");
  }
}

/**
 * The V1 sibling of marketplaceEndpoint (authToken instead of signature/timestamp/nonce, spec §5.1):
 * enabled? → read → authToken → timeStamp age → schema → handler. Nothing is written before the handler.
 *
 * V1 has no nonce, so a replay cannot be told from the Marketplace's own retries (it retries a purchase for 3 h,
 * maybe with the same URL). Instead of refusing repeats, every V1 call is idempotent: keyed calls answer from the
 * inbox, calls idempotent by state are keyed by their authToken (src/dialects/v1.ts), kit syncs by natural key and their
 * authToken (src/kit). The timeStamp age limit (V1_TIMESTAMP_MAX_AGE_SECONDS) bounds how long a captured URL works.
 */
export function v1Endpoint<T>(endpoint: V1Endpoint<T>) {
  return (request: IRequest, env: Env, ctx?: ExecutionContext): Promise<Response> =>
    answerCallback(endpoint.name, env, endpoint.key, async ({ settings, key, receivedAt, noteActivity, markVerified }) => {
      // Checked first, so a disabled V1 reads nothing and stores nothing.
      if (!settings.enableV1) throw new V1DisabledError();
      const input = await endpoint.read(request, settings);
      noteActivity(input.params.activity);
      verifyV1AuthToken(key, input.params, input.authToken);
      markVerified();
      checkTimeStampAge(input.params.timeStamp ?? "", endpoint.timeStampFormat, receivedAt, settings);
      const parsed = endpoint.parse(input);
      return endpoint.handle(env, parsed, { input, authToken: input.authToken ?? "", receivedAt, settings });
    }, ctx);
}

/** An authentic call whose timeStamp is unreadable, too old or too far ahead is refused like a bad token (000001). */
function checkTimeStampAge(timeStamp: string, format: TimeFormat, now: number, settings: Settings): void {
  const read = format.check(timeStamp);
  if (!read.ok) throw new AuthError(`timeStamp: ${read.problem}`);
  const ageMs = now - read.epochMs;
  if (settings.v1MaxAgeMs > 0 && ageMs > settings.v1MaxAgeMs) {
    throw new AuthError("timeStamp is too old", `age ${ageMs} ms, limit ${settings.v1MaxAgeMs} ms`);
  }
  // The future side uses the V2 tolerance: a clock ahead of ours by more than that is not a Marketplace clock.
  if (-ageMs > settings.signatureToleranceMs) throw new AuthError("timeStamp is in the future", `skew ${ageMs} ms`);
}

/** GET /saas/v1: the decoded query parameters (authToken among them, excluded from the signed message). */
export async function v1GetInput(request: IRequest, settings: Settings): Promise<V1SignedInput> {
  const url = new URL(request.url);
  const params = v1QueryParams(url);
  const authToken = params.authToken ?? null;
  // The record keeps what defines the call, without the token and the buyer's personal fields; its digest covers the
  // query as received, token included, so it can be matched to the Marketplace's own record of the call.
  const { authToken: _token, ...kept } = params;
  return { params, authToken, recordedRequest: () => withoutPersonalFields(kept, url.search.replace(/^\?/, ""), inboxDigestKey(settings.dataKey)) };
}

/** POST /saas/v1/produceAPI/{name}: authToken in a header, the signed fields are the body's top-level fields. */
export async function v1KitInput(request: IRequest): Promise<V1SignedInput> {
  const bytes = await readRawBody(request, KIT_MAX_BODY_BYTES);
  requireJsonContentType(request);
  const text = decodeUtf8(bytes);
  const json = parseJsonObject(text);
  // Kit syncs keep their own record (kitInboxRecord): the body itself is never recorded.
  return { params: v1KitBodyParams(json), authToken: request.headers.get("authToken"), json, recordedRequest: () => text };
}
