import { type IRequest, Router, error as ittyError } from "itty-router";
import { health } from "./health.routes";
import { v2BasicEndpoint } from "./marketplace.routes";

export type RouteArgs = [Env, ExecutionContext];

export const router = Router<IRequest, RouteArgs>();

router.get("/healthz", (_request, env) => health(env));
router.post("/saas", v2BasicEndpoint);
router.all("*", () => ittyError(404, "no such route"));
