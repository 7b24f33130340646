import type { GatewayError } from "./errors";
import { createBodySign } from "./body-sign";
import type { ResultCode } from "./result-codes";

export interface AnswerBody {
  resultCode: ResultCode;
  resultMsg: string;
  [field: string]: unknown;
}

/**
 * Every Marketplace-facing answer: HTTP 200, application/json, `Body-Sign` over the exact bytes sent
 * (spec §2.1 point 8, §2.4). The body is serialised once here and never touched again.
 */
export function signedAnswer(body: AnswerBody, accessKey: string): Response {
  return signedAnswerText(JSON.stringify(body), accessKey);
}

export function signedAnswerText(text: string, accessKey: string): Response {
  return new Response(text, {
    status: 200,
    headers: { "Content-Type": "application/json;charset=UTF-8", "Body-Sign": createBodySign(accessKey, text) },
  });
}

export function errorAnswer(error: GatewayError, accessKey: string): Response {
  return signedAnswer({ resultCode: error.code, resultMsg: error.message }, accessKey);
}
