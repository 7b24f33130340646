import type { IRequest, RouterType } from "itty-router";
import { getEvents } from "./events.routes";
import { commonErrors } from "./common.schema";
import { getInstance, listInstancesRoute } from "./instances.routes";
import { licenseCodeRoutes } from "./license-codes.routes";
import { getLicense, postLicense } from "./licenses.routes";
import { getKitOrgsRoute, getKitTenantRoute, getKitUsersRoute, postUsageRoute } from "./legacy.routes";
import { openApiDocument } from "./openapi";
import { getOrder, listOrders } from "./orders.routes";
import { getCredentials, postProvisioned, postProvisioningFailed } from "./provisioning.routes";
import { type SellerRoute, defineRoute, json } from "./route";
import { getStatement } from "./statements.routes";

/** Every /api/v1 route. Registration and openapi.json both read this list, so they cannot disagree. */
const routes: SellerRoute[] = [
  listInstancesRoute,
  getInstance,
  getCredentials,
  postProvisioned,
  postProvisioningFailed,
  getKitTenantRoute,
  getKitUsersRoute,
  getKitOrgsRoute,
  getEvents,
  postUsageRoute,
  listOrders,
  getOrder,
  ...licenseCodeRoutes,
  getLicense,
  postLicense,
  getStatement,
];

let document: Record<string, unknown> | undefined;

const getOpenApi = defineRoute(
  {
    method: "get",
    path: "/api/v1/openapi.json",
    operationId: "getOpenApi",
    summary: "This document",
    responses: { 200: { description: "OpenAPI 3.1" }, ...commonErrors },
  },
  async () => {
    document ??= openApiDocument(sellerApiRoutes);
    return json(document);
  },
);

export const sellerApiRoutes: readonly SellerRoute[] = [...routes, getOpenApi];

/** `{id}` (OpenAPI) becomes `:id` (itty-router). */
export function registerSellerApi(router: RouterType<IRequest, [Env, ExecutionContext]>): void {
  for (const route of sellerApiRoutes) {
    const path = route.path.replace(/\{(\w+)\}/g, ":$1");
    router[route.method](path, (request: IRequest, env: Env) => route.handle(request, env));
  }
}
