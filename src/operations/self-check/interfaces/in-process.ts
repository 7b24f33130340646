// The router imports the admin API, which runs the self-check, which comes back here: a cycle ES modules resolve,
// because `router` is only read when a check runs, long after every module was evaluated.
import { router } from "../../../routes/router";
import { SELF_CHECK_PROPS } from "../context";
import { jsonObjectOf } from "./debugger-rules";

/** An answer as the Marketplace's debugger reads it. */
export interface DebugAnswer {
  status: number;
  contentType: string;
  text: string;
  json: Record<string, unknown> | null;
  bodySign: string | null;
}

/**
 * The gateway's own router, called with a Request as the runtime would: a service binding to itself is not connected
 * under `wrangler dev`, and a Worker's fetch of its own hostname does not reach it. The request is signed like the
 * Marketplace's and goes through the same pipeline (signature, replay, schema, actor) as any callback.
 */
export async function sendInProcess(env: Env, request: Request): Promise<DebugAnswer> {
  const pending: Array<Promise<unknown>> = [];
  // No route uses more of the context than waitUntil; the work it is handed is awaited here, so a check ends with it.
  const ctx = { waitUntil: (promise: Promise<unknown>) => void pending.push(promise), passThroughOnException: () => undefined, props: SELF_CHECK_PROPS };
  const response: Response = await router.fetch(request, env, ctx as unknown as ExecutionContext);
  const text = await response.text();
  await Promise.allSettled(pending);
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", text, json: jsonObjectOf(text), bodySign: response.headers.get("Body-Sign") };
}
