import { type IRequest, Router, error as ittyError } from "itty-router";
import { adminHealth } from "../admin/health.routes";
import { health } from "./health.routes";
import { kitV1Route, kitV2Route } from "./kit.routes";
import { v2BasicEndpoint } from "./marketplace.routes";
import { getKitOrgs, getKitTenant, getKitUsers } from "./seller-kit.routes";
import { postUsage } from "./seller.routes";
import { v1BasicEndpoint } from "./v1.routes";

export type RouteArgs = [Env, ExecutionContext];

export const router = Router<IRequest, RouteArgs>();

router.get("/healthz", (_request, env) => health(env));
router.get("/admin/api/health", (request, env) => adminHealth(request, env));
router.post("/saas", v2BasicEndpoint);
router.post("/saas/produceAPI/v2/:name", kitV2Route);
router.get("/saas/v1", v1BasicEndpoint);
router.post("/saas/v1/produceAPI/:name", kitV1Route);
router.get("/api/v1/instances/:id/tenant", getKitTenant);
router.get("/api/v1/instances/:id/users", getKitUsers);
router.get("/api/v1/instances/:id/orgs", getKitOrgs);
router.post("/api/v1/usage", postUsage);
router.all("*", () => ittyError(404, "no such route"));
