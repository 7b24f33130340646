// @ts-check
/*
 * Where the page links each kind's problem: a copy of PLACE in src/operations/problem-kinds.ts. The type makes
 * `npm run check` fail when a kind is added there and not here; test/node/admin-page-format.test.ts fails when a
 * place differs.
 */

/** @type {Record<import("../../src/admin/page/api-types").ProblemKind, import("../../src/admin/page/api-types").ProblemPlace>} */
export const PLACES = {
  "query_order.failing": "instance",
  "callback.failed": "instance",
  "provisioning.failed": "instance",
  "license.delivery_failed": "instance",
  "delivery.failing": "deliveries",
  "delivery.failed": "deliveries",
  "job.stale": "jobs",
  "usage_push.failing": "usage",
  "usage_push.expired": "usage",
  "usage.rejected": "usage",
  "self_check.failed": "health",
  "settings.invalid": "health",
  "alert.failing": "health",
};
