import type { IRequest, RouterType } from "itty-router";
import { instanceCursor } from "../seller-api/cursor";
import { getDb } from "../db/client";
import { getSettings } from "../env";
import { getInstanceActor } from "../actor/instance.actor";
import { findInstance } from "../instances/instance.repo";
import {
  AdminInstanceListQuery,
  AdminInstanceParams,
  DeliveryListQuery,
  DeliveryParams,
  JobRunParams,
  JobRunQuery,
  JobsQuery,
  ProblemParams,
  ProblemsQuery,
  ReplayParams,
  ResolveProblemBody,
  TimelineQuery,
  UsageCorrectParams,
  UsageQuery,
} from "./admin-api.schema";
import { requireAdmin } from "./admin-auth";
import { recordAdminAction } from "./admin-audit";
import { type AdminRoute, AdminApiError, adminJson, adminRoute } from "./admin-route";
import { adminInstanceOf } from "./admin-views";
import { listDeliveries, resendDelivery } from "./deliveries";
import { adminHealth } from "./health.routes";
import { searchInstances } from "./instance-search.query";
import { listJobs, runJobNow } from "./jobs";
import { replayInboxEntry } from "./replay";
import { STATEMENT_ROUTES } from "./statements";
import { timelineOf } from "./timeline";
import { correctUsage, usageReport } from "./usage";
import { runSelfCheck } from "../operations/self-check/self-check";
import { lastRuns } from "../operations/self-check/self-check.repo";
import { scheduledJobs } from "../schedule";
import type { SelfCheckAnswer, SelfCheckRunView } from "./admin-api.schema";
import { listProblems, problemView, resolveProblemByAdmin } from "../operations/problems";

/*
 * The operator's admin API (Authorization: Bearer <ADMIN_TOKEN>): one table of routes, each with the schemas its
 * input is parsed with (src/admin/admin-api.schema.ts holds those and the answers' shapes).
 */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  adminRoute({ method: "get", path: "/admin/api/health" }, async ({ env, ctx, now }) => adminJson(await adminHealth(env, now, ctx))),

  adminRoute({ method: "get", path: "/admin/api/instances", query: AdminInstanceListQuery }, async ({ query, env }) => {
    const after = query.cursor === undefined ? undefined : instanceCursor.decode(query.cursor);
    const filter = {
      ...(query.status ? { status: query.status } : {}),
      ...(query.productId ? { productId: query.productId } : {}),
      ...(query.test === undefined ? {} : { test: query.test }),
    };
    // One row past the page says whether there is a next one.
    const rows = await searchInstances(getDb(env), filter, query.q, after, query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return adminJson({
      instances: page.map(adminInstanceOf),
      nextCursor: rows.length > query.limit && last ? instanceCursor.encode({ createdAt: last.createdAt, id: last.id }) : null,
    });
  }),

  adminRoute({ method: "get", path: "/admin/api/instances/:id/timeline", params: AdminInstanceParams, query: TimelineQuery }, async ({ params, query, env }) => {
    const db = getDb(env);
    const instance = await findInstance(db, params.id);
    if (!instance) throw new AdminApiError(404, `instance ${params.id} does not exist`);
    return adminJson(await timelineOf(db, instance, getSettings(env), query.limit));
  }),

  adminRoute({ method: "post", path: "/admin/api/instances/:id/replay/:inboxId", params: ReplayParams }, async ({ params, env, now }) => {
    const db = getDb(env);
    const answer = await replayInboxEntry(env, db, params.id, params.inboxId, now);
    if (answer.source === "applied") {
      await recordAdminAction(db, { action: "replay", target: params.id, at: now, detail: { inboxId: params.inboxId, activity: answer.activity, resultCode: answer.resultCode } });
    }
    return adminJson(answer);
  }),

  adminRoute({ method: "post", path: "/admin/api/instances/:id/retry-provisioning", params: AdminInstanceParams }, async ({ params, env, now }) => {
    getSettings(env);
    const result = await getInstanceActor(env, params.id).retryProvisioning(params.id, now);
    if (result.status !== 200) throw new AdminApiError(result.status, result.error);
    await recordAdminAction(getDb(env), { action: "retryProvisioning", target: params.id, at: now, detail: { status: result.instance.status } });
    return adminJson({ instance: adminInstanceOf(result.instance) });
  }),

  adminRoute({ method: "get", path: "/admin/api/deliveries", query: DeliveryListQuery }, async ({ query, env }) =>
    adminJson({ deliveries: await listDeliveries(getDb(env), query) }),
  ),

  adminRoute({ method: "post", path: "/admin/api/deliveries/:id/resend", params: DeliveryParams }, async ({ params, env, now }) => {
    getSettings(env);
    return adminJson({ delivery: await resendDelivery(env, getDb(env), params.id, now) });
  }),

  adminRoute({ method: "get", path: "/admin/api/usage", query: UsageQuery }, async ({ query, env, now }) => adminJson(await usageReport(getDb(env), query, now))),

  adminRoute({ method: "post", path: "/admin/api/usage/:meteringSn/correct", params: UsageCorrectParams }, async ({ params, env, now }) =>
    adminJson(await correctUsage(getDb(env), params.meteringSn, now)),
  ),

  adminRoute({ method: "get", path: "/admin/api/jobs", query: JobsQuery }, async ({ query, env, now }) => adminJson({ jobs: await listJobs(getDb(env), query.runs, now) })),

  adminRoute({ method: "post", path: "/admin/api/jobs/:job/run", params: JobRunParams, query: JobRunQuery }, async ({ params, query, env, now }) =>
    adminJson(await runJobNow(env, getDb(env), params.job, query.asOf, now)),
  ),

  // Every check, the interface.* ones included (src/operations/self-check); a failed check is a 200 whose body says so.
  adminRoute({ method: "post", path: "/admin/api/self-check" }, async ({ env, now }) => {
    const run: SelfCheckRunView = await runSelfCheck(env, now, { scope: "full", jobs: scheduledJobs() });
    const failed = run.checks.filter((check) => !check.ok).map((check) => check.name);
    await recordAdminAction(getDb(env), { action: "selfCheck", target: "self-check", at: now, detail: { ok: run.ok, failed } });
    return adminJson(run);
  }),

  adminRoute({ method: "get", path: "/admin/api/self-check" }, async ({ env }) => {
    const answer: SelfCheckAnswer = await lastRuns(getDb(env));
    return adminJson(answer);
  }),

  adminRoute({ method: "get", path: "/admin/api/problems", query: ProblemsQuery }, async ({ query, env }) =>
    adminJson({ problems: (await listProblems(getDb(env), query.state, query.limit)).map(problemView) }),
  ),

  adminRoute({ method: "post", path: "/admin/api/problems/:id/resolve", params: ProblemParams, body: ResolveProblemBody }, async ({ params, body, env, now }) => {
    const result = await resolveProblemByAdmin(env, params.id, body.note, now);
    if (result.status !== 200) throw new AdminApiError(result.status, result.error);
    return adminJson({ problem: result.problem });
  }),

  ...STATEMENT_ROUTES,
];

/** Registered from src/routes/router.ts with one line. */
export function registerAdminApi(router: RouterType<IRequest, [Env, ExecutionContext]>): void {
  for (const route of ADMIN_ROUTES) router[route.method](route.path, (request: IRequest, env: Env, ctx: ExecutionContext) => route.handle(request, env, ctx));
  // Without the token, an unknown admin route is a 401 like the others: which routes exist is not told to strangers.
  router.all("/admin/api/*", (request: IRequest, env: Env) => requireAdmin(request, env) ?? adminJson({ error: "no such route" }, 404));
}
