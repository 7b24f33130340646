import type { IRequest } from "itty-router";
import type { z } from "zod";
import { log } from "../observability/log";
import { ConfigurationError, toGatewayError } from "../protocol/errors";
import { SellerApiError } from "../seller-api/errors";
import { jsonBodyOf, parse, pathParamsOf, queryOf } from "../seller-api/route";
import { requireAdmin } from "./admin-auth";

/*
 * An admin API route is one record, as in the seller API (src/seller-api/route.ts, whose parsers it shares): method,
 * path, the zod schemas of its parameters, query and body, and a handler that gets them parsed. Handlers throw
 * AdminApiError; `handle` below is the one place that turns errors into answers.
 */

export type AdminErrorStatus = 400 | 404 | 409 | 413 | 503;

export class AdminApiError extends Error {
  override readonly name = "AdminApiError";
  constructor(
    readonly status: AdminErrorStatus,
    message: string,
  ) {
    super(message);
  }
}

export interface AdminInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  env: Env;
  request: IRequest;
  ctx: ExecutionContext | undefined;
  /** Read once per request: every handler gets its clock from here. */
  now: number;
}

export interface AdminRoute {
  method: "get" | "post";
  /** itty-router form: `/admin/api/instances/:id`. */
  path: `/admin/api/${string}`;
  /** The query's and body's schemas, as the seller routes publish theirs: the reliability fuzzer builds inputs from them. */
  query?: z.ZodObject;
  body?: z.ZodType;
  handle(request: IRequest, env: Env, ctx?: ExecutionContext): Promise<Response>;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export const adminJson = (body: unknown, status = 200): Response => Response.json(body, { status, headers: { "Cache-Control": "no-store" } });

const adminError = (status: AdminErrorStatus | 500, error: string): Response => adminJson({ error }, status);

/** Token first (nothing else is looked at without it), then parameters, query and body, then the handler. */
export function adminRoute<P extends z.ZodObject | undefined, Q extends z.ZodObject | undefined, B extends z.ZodType | undefined>(
  spec: { method: "get" | "post"; path: `/admin/api/${string}`; params?: P; query?: Q; body?: B },
  handler: (input: AdminInput<Out<P>, Out<Q>, Out<B>>) => Promise<Response>,
): AdminRoute {
  const route = `${spec.method.toUpperCase()} ${spec.path}`;
  return {
    method: spec.method,
    path: spec.path,
    ...(spec.query ? { query: spec.query } : {}),
    ...(spec.body ? { body: spec.body } : {}),
    async handle(request, env, ctx) {
      const now = Date.now();
      const refused = requireAdmin(request, env);
      if (refused) return refused;
      try {
        const params = parse(spec.params, pathParamsOf(request), "path parameter") as Out<P>;
        const query = parse(spec.query, queryOf(new URL(request.url)), "query parameter") as Out<Q>;
        const body = (spec.body ? parse(spec.body, await jsonBodyOf(request), "body") : undefined) as Out<B>;
        return await handler({ params, query, body, env, request, ctx, now });
      } catch (error) {
        // The shared parsers and cursors throw the seller API's error type; its status and message fit here too.
        if (error instanceof AdminApiError) return adminError(error.status, error.message);
        if (error instanceof SellerApiError && error.status !== 401 && error.status !== 503) return adminError(error.status === 413 ? 400 : error.status, error.message);
        // The operator may see which setting is broken (its name and rule, never its value).
        if (error instanceof ConfigurationError) return adminError(503, `gateway misconfigured: setting ${error.setting} ${error.problem}`);
        const failure = toGatewayError(error);
        log("error", "admin_api.failed", { route, detail: failure.detail ?? failure.message, ms: Date.now() - now });
        return adminError(500, "internal error");
      }
    },
  };
}
