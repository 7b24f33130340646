import type { IRequest } from "itty-router";
import { type LogLevel, log } from "./log";

export const REQUEST_ID_HEADER = "x-request-id";

/** A Cloudflare ray id is hex plus a colo suffix ("8c5f1e2d3a4b5c6d-SJC"); anything else is not trusted as an id. */
const RAY_ID = /^[0-9A-Za-z-]{1,64}$/;

interface Trace {
  requestId: string;
  receivedAt: number;
}

interface Outcome {
  level: LogLevel;
  fields: Record<string, unknown>;
}

// Side tables rather than properties on the request or response: typed, and gone with the objects they describe.
const traces = new WeakMap<object, Trace>();
const outcomes = new WeakMap<Response, Outcome>();

/**
 * Adds a handler's own facts (a callback's endpoint, activity and result code, a refusal's reason) to the request's
 * one log line, instead of a second line. Ids and codes only: never a body, key, password or personal field.
 */
export function noteOutcome(response: Response, level: LogLevel, fields: Record<string, unknown>): Response {
  outcomes.set(response, { level, fields });
  return response;
}

/** Router `before` hook: the request's id (the ray id when Cloudflare gave one) and its start time. */
export function startRequest(request: IRequest): undefined {
  const ray = request.headers.get("cf-ray");
  traces.set(request, { requestId: ray !== null && RAY_ID.test(ray) ? ray : crypto.randomUUID(), receivedAt: Date.now() });
  return undefined;
}

/** Router `catch` hook: an unexpected throw is a 500 without detail for the caller, and with it in the log line. */
export function failedRequest(error: unknown): Response {
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message.slice(0, 300) : undefined;
  return noteOutcome(Response.json({ error: "internal error" }, { status: 500 }), "error", { error: name, message });
}

/**
 * Router `finally` hook: stamps `x-request-id` on the answer and writes the request's one log line. Headers are
 * outside every signature (a callback's Body-Sign covers the body only), so adding one changes nothing signed.
 * It never throws: a throw here would skip the id on exactly the answers an operator needs to trace.
 */
export function finishRequest(response: Response | undefined, request: IRequest): Response {
  const trace = traces.get(request) ?? { requestId: crypto.randomUUID(), receivedAt: Date.now() };
  let answer = response ?? Response.json({ error: "no answer" }, { status: 500 });
  const outcome = outcomes.get(answer);
  try {
    answer.headers.set(REQUEST_ID_HEADER, trace.requestId);
  } catch {
    // Immutable headers (a response passed through from fetch): copy the response, body untouched.
    answer = new Response(answer.body, answer);
    answer.headers.set(REQUEST_ID_HEADER, trace.requestId);
  }
  const level = outcome?.level ?? (answer.status >= 500 ? "error" : "info");
  log(level, "request", {
    // First, so that a handler's fact can never stand in for the request's own fields.
    ...outcome?.fields,
    requestId: trace.requestId,
    method: request.method,
    // The route's pattern ("/api/v1/instances/:id"), not the path: no ids or query strings in the line, and lines
    // of one route group together. Unmatched paths are "*".
    route: typeof request.route === "string" ? request.route : "*",
    status: answer.status,
    ms: Date.now() - trace.receivedAt,
  });
  return answer;
}
