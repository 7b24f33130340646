import { getDb } from "../db/client";
import { entitlementOf } from "../instances/entitlement";
import { findInstance } from "../instances/instance.repo";
import { ErrorBody, InstanceIdParams, commonErrors } from "./common.schema";
import { instanceCursor } from "./cursor";
import { SellerApiError } from "./errors";
import { listInstances } from "./instance-list.query";
import { Entitlement, InstanceList, InstanceListQuery } from "./instances.schema";
import { defineRoute, json } from "./route";

export const getInstance = defineRoute(
  {
    method: "get",
    path: "/api/v1/instances/{id}",
    operationId: "getInstance",
    summary: "The entitlement of one instance",
    params: InstanceIdParams,
    responses: {
      200: { description: "the entitlement", schema: Entitlement },
      400: { description: "malformed id", schema: ErrorBody },
      404: { description: "no such instance", schema: ErrorBody },
      ...commonErrors,
    },
  },
  async ({ params, env }) => {
    const row = await findInstance(getDb(env), params.id);
    if (!row) throw new SellerApiError(404, `instance ${params.id} does not exist`);
    return json(entitlementOf(row));
  },
);

export const listInstancesRoute = defineRoute(
  {
    method: "get",
    path: "/api/v1/instances",
    operationId: "listInstances",
    summary: "Instances, newest first, filtered by status, product and test flag",
    query: InstanceListQuery,
    responses: {
      200: { description: "one page", schema: InstanceList },
      400: { description: "unknown or malformed parameter, or a cursor this API did not return", schema: ErrorBody },
      ...commonErrors,
    },
  },
  async ({ query, env }) => {
    const after = query.cursor === undefined ? undefined : instanceCursor.decode(query.cursor);
    const filter = { status: query.status, productId: query.productId, test: query.test };
    // One more than asked tells whether another page exists without a count query.
    const rows = await listInstances(getDb(env), filter, after, query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? instanceCursor.encode(last) : null;
    return json({ instances: page.map(entitlementOf), nextCursor });
  },
);
