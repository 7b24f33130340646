import type { IRequest, RouterType } from "itty-router";
import { ADMIN_CSS } from "./admin-style";
import { ADMIN_JS } from "./admin-script";
import { ADMIN_HTML } from "./admin-html";

/**
 * Only this origin's own script, style and API; no inline code, no framing, no forms posted elsewhere. `img-src data:`
 * is for the empty favicon. The page holds no data, so it needs no token; the API calls it makes carry one.
 */
export const ADMIN_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

const SECURITY_HEADERS = {
  "Content-Security-Policy": ADMIN_PAGE_CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  // Revalidate on every load, so a deploy's new script never runs against an old page or the reverse.
  "Cache-Control": "no-cache",
};

function asset(body: string, contentType: string): () => Response {
  return () => new Response(body, { headers: { ...SECURITY_HEADERS, "Content-Type": contentType } });
}

/** GET /admin and its two assets (and POST /admin, the sign-in form without its script), from strings compiled into the Worker: no build step, nothing fetched elsewhere. */
export function registerAdminPage(router: RouterType<IRequest, [Env, ExecutionContext]>): void {
  const page = asset(ADMIN_HTML, "text/html; charset=utf-8");
  router.get("/admin", page);
  router.get("/admin/", page);
  // The sign-in form submitted by the browser itself (app.js not loaded yet): its unnamed field sent nothing, and the
  // answer sends the browser back to the page (303: a reload does not post again), reading nothing of the body.
  router.post("/admin", () => new Response(null, { status: 303, headers: { ...SECURITY_HEADERS, Location: "/admin" } }));
  router.get("/admin/app.js", asset(ADMIN_JS, "text/javascript; charset=utf-8"));
  router.get("/admin/app.css", asset(ADMIN_CSS, "text/css; charset=utf-8"));
}
