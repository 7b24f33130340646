import { MAX_USAGE_BODY_BYTES } from "../billing/usage-ingest";
import { getKitOrgs, getKitTenant, getKitUsers } from "./kit-reads.routes";
import { postUsage } from "./usage.routes";
import { ErrorBody, InstanceIdParams, commonErrors } from "./common.schema";
import { KitOrgs, KitPageQuery, KitTenant, KitUsers } from "./kit.schema";
import { documentRoute } from "./route";
import { UsageBatch, UsageResult } from "./usage.schema";

/* Routes older than the route table: their handlers parse their own input; here they are documented and guarded. */

export const postUsageRoute = documentRoute(
  {
    method: "post",
    path: "/api/v1/usage",
    operationId: "postUsage",
    summary: "Report pay-per-use usage events; the gateway rolls them into hourly records and pushes them to the Marketplace",
    description: "Idempotent by eventId. Each event is accepted, a duplicate, or rejected with a reason; the good events of a batch are stored even when others are rejected.",
    body: UsageBatch,
    responses: {
      200: { description: "per-event results", schema: UsageResult },
      400: { description: "not a JSON object { events: [...] }, empty, or not application/json", schema: ErrorBody },
      413: { description: `more than 1000 events or ${MAX_USAGE_BODY_BYTES} bytes`, schema: ErrorBody },
      ...commonErrors,
    },
  },
  postUsage,
);

const kitErrors = {
  400: { description: "malformed id, limit or cursor", schema: ErrorBody },
  ...commonErrors,
};

export const getKitTenantRoute = documentRoute(
  {
    method: "get",
    path: "/api/v1/instances/{id}/tenant",
    operationId: "getKitTenant",
    summary: "Joint-operation: the synced tenant(s) and app credentials of an instance",
    params: InstanceIdParams,
    responses: { 200: { description: "tenants and their apps", schema: KitTenant }, 404: { description: "nothing synced", schema: ErrorBody }, ...kitErrors },
  },
  getKitTenant,
);

export const getKitUsersRoute = documentRoute(
  {
    method: "get",
    path: "/api/v1/instances/{id}/users",
    operationId: "getKitUsers",
    summary: "Joint-operation: synced users of an instance, revoked ones with authorized false",
    params: InstanceIdParams,
    query: KitPageQuery,
    responses: { 200: { description: "one page", schema: KitUsers }, ...kitErrors },
  },
  getKitUsers,
);

export const getKitOrgsRoute = documentRoute(
  {
    method: "get",
    path: "/api/v1/instances/{id}/orgs",
    operationId: "getKitOrgs",
    summary: "Joint-operation: the synced department tree of an instance, flat",
    params: InstanceIdParams,
    query: KitPageQuery,
    responses: { 200: { description: "one page", schema: KitOrgs }, ...kitErrors },
  },
  getKitOrgs,
);
