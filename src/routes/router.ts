import { type IRequest, Router, error as ittyError } from "itty-router";
import { registerAdminApi } from "../admin/admin-api";
import { registerAdminPage } from "../admin/page/admin-page.routes";
import { failedRequest, finishRequest, startRequest } from "../observability/request-log";
import { registerSellerApi } from "../seller-api/seller-api";
import { registerSso } from "../sso/sso.routes";
import { health } from "./health.routes";
import { jwks } from "./jwks.routes";
import { kitV1Route, kitV2Route } from "./kit.routes";
import { licenseEndpoint } from "./license.routes";
import { v2BasicEndpoint } from "./marketplace.routes";
import { orderNotifyEndpoint } from "./orders.routes";
import { v1BasicEndpoint } from "./v1.routes";

export type RouteArgs = [Env, ExecutionContext];

// Every answer, 404s and errors included, leaves through finishRequest: its x-request-id and its one log line.
export const router = Router<IRequest, RouteArgs>({ before: [startRequest], catch: failedRequest, finally: [finishRequest] });

router.get("/healthz", (_request, env, ctx) => health(env, ctx));
registerAdminApi(router);
router.post("/saas", v2BasicEndpoint);
router.post("/saas/produceAPI/v2/:name", kitV2Route);
router.get("/saas/v1", v1BasicEndpoint);
router.post("/saas/v1/produceAPI/:name", kitV1Route);
router.post("/orders", orderNotifyEndpoint);
router.post("/license", licenseEndpoint);
router.get("/.well-known/jwks.json", (_request, env) => jwks(env));
registerSellerApi(router);
registerSso(router);
registerAdminPage(router);
router.all("/api/v1/*", () => Response.json({ error: "no such route" }, { status: 404 }));
router.all("*", () => ittyError(404, "no such route"));
