import type { IRequest } from "itty-router";
import { getDb } from "../db/client";
import { d1ReplayStore } from "../db/nonce.repo";
import { type Settings, getSettings } from "../env";
import { AuthError, type GatewayError, toGatewayError } from "../errors";
import { log } from "../observability/log";
import { errorAnswer, signedAnswerText } from "../protocol/answer";
import { decodeUtf8, parseJsonObject, readRawBody, requireJsonContentType } from "../protocol/inbound";
import { ResultCode } from "../protocol/result-codes";
import { type SignedRequestParts, verifyV2Signature } from "../protocol/v2-signature";

export interface VerifiedCall {
  json: Record<string, unknown>;
  text: string;
  receivedAt: number;
  settings: Settings;
}

export interface EndpointAnswer {
  text: string;
  resultCode: string;
}

export interface MarketplaceEndpoint<T> {
  /** For logs: "v2-basic", "kit-v2:tenantSync", … */
  name: string;
  /** Which of the four keys verifies the call and signs its answer (spec README point 3). */
  key: (settings: Settings) => string;
  signatureParts: (request: Request, url: URL) => SignedRequestParts;
  /** zod parsing; throws InvalidRequestError (000002). */
  parse: (json: Record<string, unknown>) => T;
  handle: (env: Env, parsed: T, call: VerifiedCall) => Promise<EndpointAnswer>;
  /** Larger than MAX_BODY_BYTES only where the spec allows big bodies (kit authSync: 500 users). */
  maxBodyBytes?: number;
}

/**
 * The pipeline every signed-JSON Marketplace callback goes through, in an order that stores nothing for bad input:
 * size → signature → content type → JSON → schema → nonce (the only write before the handler) → handler.
 * Every answer is HTTP 200, JSON, with Body-Sign; errors included.
 */
export function marketplaceEndpoint<T>(endpoint: MarketplaceEndpoint<T>) {
  return async (request: IRequest, env: Env): Promise<Response> => {
    const started = Date.now();
    let settings: Settings;
    try {
      settings = getSettings(env);
    } catch (error) {
      return misconfigured(endpoint.name, toGatewayError(error));
    }
    const key = endpoint.key(settings);
    let activity: unknown;
    try {
      const bytes = await readRawBody(request, endpoint.maxBodyBytes);
      const url = new URL(request.url);
      const { nonce, nonceExpiresAtMs } = verifyV2Signature(
        key,
        bytes,
        endpoint.signatureParts(request, url),
        started,
        settings.signatureToleranceMs,
      );
      requireJsonContentType(request);
      const text = decodeUtf8(bytes);
      const json = parseJsonObject(text);
      activity = json.activity;
      const parsed = endpoint.parse(json);
      const fresh = await d1ReplayStore(getDb(env), started).remember(nonce, nonceExpiresAtMs);
      if (!fresh) throw new AuthError("nonce was already used (replay)");
      const answer = await endpoint.handle(env, parsed, { json, text, receivedAt: started, settings });
      log("info", "callback", { endpoint: endpoint.name, activity, resultCode: answer.resultCode, ms: Date.now() - started });
      return signedAnswerText(answer.text, key);
    } catch (error) {
      const failure = toGatewayError(error);
      log(failure.reportable ? "error" : "warn", "callback.refused", {
        endpoint: endpoint.name,
        activity: typeof activity === "string" ? activity.slice(0, 40) : undefined,
        resultCode: failure.code,
        message: failure.message,
        detail: failure.detail,
        ms: Date.now() - started,
      });
      return errorAnswer(failure, key);
    }
  };
}

/** Without valid settings there may be no key to sign with: say so plainly, still as the spec's JSON shape. */
export function misconfigured(name: string, failure: GatewayError): Response {
  log("error", "settings.invalid", { endpoint: name, detail: failure.detail });
  return Response.json({ resultCode: ResultCode.InternalError, resultMsg: failure.message }, { status: 200 });
}
