import type { IRequest } from "itty-router";
import { z } from "zod";
import { toGatewayError } from "../protocol/errors";
import { log } from "../observability/log";
import { decodeUtf8, readRawBody } from "../protocol/inbound";
import { MalformedPathParameter, decodePathParams } from "../routes/path-params";
import { type Caller, authoriseCaller, requireSellerToken } from "./seller-auth";
import { SellerApiError, errorResponse } from "./errors";

/*
 * A seller API route is one record: method, path, the zod schemas of its parameters, query and body, and its
 * responses. The router registers it and openapi.json describes it from that same record, so the document cannot
 * drift from what is validated.
 */

export type HttpMethod = "get" | "post";

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** Response headers the caller must read (429's Retry-After), as OpenAPI header objects. */
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
}

export interface RouteDoc {
  method: HttpMethod;
  /** OpenAPI form (`/api/v1/instances/{id}`); the router gets `:id`. */
  path: `/api/v1/${string}`;
  operationId: string;
  summary: string;
  description?: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, ResponseDoc>;
  /** Also open to a product's license client token (the license-code routes); otherwise the seller token only. */
  licenseClient?: boolean;
}

export interface SellerRoute extends RouteDoc {
  handle(request: IRequest, env: Env): Promise<Response>;
}

export interface Parsed<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  env: Env;
  request: IRequest;
  /** Read once per request: every handler gets its clock from here. */
  now: number;
  caller: Caller;
}

/** Seller writes are a few hundred bytes; anything near this is not one of them. */
export const MAX_SELLER_BODY_BYTES = 16 * 1024;

function problem(where: string, error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return `${where} is invalid`;
  const path = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") return `${where}: unknown ${issue.keys.map((key) => `"${key}"`).join(", ")}`;
  return path === "" ? `${where}: ${issue.message}` : `${where} ${path}: ${issue.message}`;
}

export function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T | undefined {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (!result.success) throw new SellerApiError(400, problem(where, result.error));
  return result.data;
}

/** The route's path parameters, percent-decoded (src/routes/path-params.ts); a malformed escape is a 400. */
export function pathParamsOf(request: IRequest): Record<string, string> {
  try {
    return decodePathParams(request.params);
  } catch (error) {
    if (error instanceof MalformedPathParameter) throw new SellerApiError(400, error.message);
    throw error;
  }
}

/** Repeated query keys are refused rather than guessed at: `?status=a&status=b` means nothing here. */
export function queryOf(url: URL): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    if (name in query) throw new SellerApiError(400, `query parameter ${name} is given twice`);
    query[name] = value;
  }
  return query;
}

export async function jsonBodyOf(request: Request): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await readRawBody(request, MAX_SELLER_BODY_BYTES);
  } catch {
    throw new SellerApiError(413, `request body exceeds ${MAX_SELLER_BODY_BYTES} bytes`);
  }
  if (!/^application\/json\s*(;|$)/i.test((request.headers.get("content-type") ?? "").trim())) {
    throw new SellerApiError(400, "content type must be application/json");
  }
  try {
    return JSON.parse(decodeUtf8(bytes));
  } catch {
    throw new SellerApiError(400, "body is not valid UTF-8 JSON");
  }
}

/** Token first (nothing else is looked at for a caller without one), then parameters, query and body, then the handler. */
export function defineRoute<P extends z.ZodObject | undefined, Q extends z.ZodObject | undefined, B extends z.ZodType | undefined>(
  doc: RouteDoc & { params?: P; query?: Q; body?: B },
  handler: (input: Parsed<Out<P>, Out<Q>, Out<B>>) => Promise<Response>,
): SellerRoute {
  const route = `${doc.method.toUpperCase()} ${doc.path}`;
  return {
    ...doc,
    async handle(request, env) {
      const now = Date.now();
      const caller = authoriseCaller(request, env, doc.licenseClient === true);
      if (caller instanceof Response) return caller;
      try {
        const params = parse(doc.params, pathParamsOf(request), "path parameter") as Out<P>;
        const query = parse(doc.query, queryOf(new URL(request.url)), "query parameter") as Out<Q>;
        const body = (doc.body ? parse(doc.body, await jsonBodyOf(request), "body") : undefined) as Out<B>;
        return await handler({ params, query, body, env, request, now, caller });
      } catch (error) {
        if (error instanceof SellerApiError) return errorResponse(error.status, error.message);
        const failure = toGatewayError(error);
        log("error", "seller_api.failed", { route, detail: failure.detail ?? failure.message, ms: Date.now() - now });
        return errorResponse(500, "internal error");
      }
    },
  };
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/**
 * A route whose handler predates the table (usage, kit reads): it parses its own input; the table still documents it
 * and answers 401/503 for it before the handler runs.
 */
export function documentRoute(doc: RouteDoc, handler: (request: IRequest, env: Env) => Promise<Response>): SellerRoute {
  return {
    ...doc,
    async handle(request, env) {
      const denied = requireSellerToken(request, env);
      if (denied) return denied;
      // These handlers read request.params themselves: they get them decoded, like every other route.
      try {
        request.params = pathParamsOf(request);
      } catch (error) {
        if (error instanceof SellerApiError) return errorResponse(error.status, error.message);
        throw error;
      }
      return handler(request, env);
    },
  };
}

export const json = (body: unknown, status = 200): Response => Response.json(body, { status, headers: { "Cache-Control": "no-store" } });
