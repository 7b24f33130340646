/*
 * What the SSO routes answer: HTML pages for the browser when there is nowhere safe to send it, redirects back to the
 * app (only ever to a registered redirect URI), and OAuth JSON errors for the app's back channel (RFC 6749 §5.2).
 */

const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A page for the person at the browser; never a redirect, so a bad request cannot send them anywhere. */
export function errorPage(status: number, title: string, message: string): Response {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`;
  return new Response(html, { status, headers: { "Content-Type": "text/html; charset=utf-8", ...NO_STORE } });
}

/** A 302 to `base` with `params` added to its query (a registered redirect URI may have a query of its own). */
export function redirectWith(base: string, params: Record<string, string | null | undefined>): Response {
  const url = new URL(base);
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null) url.searchParams.set(name, value);
  return new Response(null, { status: 302, headers: { Location: url.href, ...NO_STORE } });
}

export function redirectTo(location: string): Response {
  return new Response(null, { status: 302, headers: { Location: location, ...NO_STORE } });
}

export function jsonNoStore(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { ...NO_STORE, ...headers } });
}

export type OAuthErrorCode = "invalid_request" | "invalid_client" | "invalid_grant" | "unsupported_grant_type" | "invalid_token" | "server_error";

export function oauthError(status: number, error: OAuthErrorCode, description: string, headers: Record<string, string> = {}): Response {
  return jsonNoStore({ error, error_description: description }, status, headers);
}
