import type { IRequest, RouterType } from "itty-router";

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

const CONTENT_TYPES = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
} as const;

/** The page's script modules and style sheets (public/admin/): a plain name, nothing else of the folder. */
const PAGE_FILE = /^[a-z][a-z0-9-]{0,63}\.(js|css)$/;

/**
 * One file of public/admin/ through the ASSETS binding, with the page's headers. wrangler.toml's `run_worker_first =
 * true` sends every request here first, so the page keeps the Worker's x-request-id, log line and 404s, and nothing
 * in the folder is reachable except what this names. null when the file is not there (the router's 404).
 */
async function pageFile(request: IRequest, env: Env, file: string, type: keyof typeof CONTENT_TYPES): Promise<Response | null> {
  const asset = await env.ASSETS.fetch(new URL(`/admin/${file}`, request.url), { method: "GET" });
  if (asset.status !== 200) {
    await asset.body?.cancel();
    return null;
  }
  return new Response(asset.body, { headers: { ...SECURITY_HEADERS, "Content-Type": CONTENT_TYPES[type] } });
}

/** GET /admin and its files (and POST /admin, the sign-in form without its script), from the static assets. */
export function registerAdminPage(router: RouterType<IRequest, [Env, ExecutionContext]>): void {
  const page = (request: IRequest, env: Env) => pageFile(request, env, "index.html", "html");
  router.get("/admin", page);
  router.get("/admin/", page);
  // The sign-in form submitted by the browser itself (app.js not loaded yet): its unnamed field sent nothing, and the
  // answer sends the browser back to the page (303: a reload does not post again), reading nothing of the body.
  router.post("/admin", () => new Response(null, { status: 303, headers: { ...SECURITY_HEADERS, Location: "/admin" } }));
  router.get("/admin/:file", (request: IRequest, env: Env) => {
    const file = request.params.file ?? "";
    const match = PAGE_FILE.exec(file);
    return match ? pageFile(request, env, file, match[1] === "js" ? "js" : "css") : null;
  });
}
