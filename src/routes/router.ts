import { type IRequest, Router, error as ittyError } from "itty-router";
import { health } from "./health.routes";

export type RouteArgs = [Env, ExecutionContext];

export const router = Router<IRequest, RouteArgs>();

router.get("/healthz", (_request, env) => health(env));
router.all("*", () => ittyError(404, "no such route"));
