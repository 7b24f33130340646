import { type IRequest, type RouterType, error as ittyError } from "itty-router";
import { log } from "../observability/log";
import { authorize } from "./authorize";
import { callback } from "./callback";
import { discovery, jwks } from "./discovery";
import { logout } from "./logout";
import { errorPage } from "./responses";
import { type SsoConfig, getSsoSettings } from "./sso-settings";
import { token } from "./token";
import { userinfo } from "./userinfo";

type Handler = (request: IRequest, env: Env, ctx: ExecutionContext, config: SsoConfig) => Response | Promise<Response>;

/** SSO's routes exist only while it is configured: off → 404 as any unknown route; broken → 503, named in admin health. */
function whenOn(handler: Handler) {
  return (request: IRequest, env: Env, ctx: ExecutionContext) => {
    const settings = getSsoSettings(env);
    if (settings.state === "off") return ittyError(404, "no such route");
    if (settings.state === "broken") {
      log("error", "sso.misconfigured", { setting: settings.setting, problem: settings.problem });
      return errorPage(503, "Sign-in unavailable", "Single sign-on is misconfigured: the operator can see why in the admin health.");
    }
    return handler(request, env, ctx, settings.config);
  };
}

export function registerSso(router: RouterType<IRequest, [Env, ExecutionContext]>): void {
  router.get("/oidc/.well-known/openid-configuration", whenOn((_request, _env, _ctx, config) => discovery(config)));
  router.get("/oidc/jwks", whenOn((_request, _env, _ctx, config) => jwks(config)));
  router.get("/oidc/authorize", whenOn((request, env, _ctx, config) => authorize(request, env, config)));
  router.get("/oidc/callback", whenOn((request, env, ctx, config) => callback(request, env, ctx, config)));
  router.post("/oidc/token", whenOn((request, env, _ctx, config) => token(request, env, config)));
  router.get("/oidc/userinfo", whenOn((request, env) => userinfo(request, env)));
  router.post("/oidc/userinfo", whenOn((request, env) => userinfo(request, env)));
  router.get("/oidc/logout", whenOn((request, env, _ctx, config) => logout(request, env, config)));
}
