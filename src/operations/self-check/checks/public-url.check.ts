import { type CheckOutcome, failed, passed, skipped } from "../self-check.types";

/** http:// is allowed only for a loopback origin (local development), as for every URL setting (env.ts). */
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

function raw(env: Env, name: string): string {
  const value = (env as unknown as Record<string, unknown>)[name];
  return typeof value === "string" ? value.trim() : "";
}

/**
 * PUBLIC_URL is needed once something tells the outside world the gateway's address: single sign-on (its issuer and
 * redirect address). While SSO is not configured (OIDC_CLIENT_ID unset) nothing needs it.
 */
export function publicUrlCheck(env: Env): CheckOutcome {
  if (raw(env, "OIDC_CLIENT_ID") === "") return skipped("nothing needs PUBLIC_URL yet: single sign-on is not configured (OIDC_CLIENT_ID is not set)");
  const url = raw(env, "PUBLIC_URL").replace(/\/+$/, "");
  const fix = "Set PUBLIC_URL in wrangler.toml [vars] to the https origin the Marketplace and browsers reach, e.g. https://gateway.example.com (no path; http:// only for 127.0.0.1 or localhost).";
  if (url === "") return failed("single sign-on is configured (OIDC_CLIENT_ID) but PUBLIC_URL is not set", fix);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return failed("PUBLIC_URL is not a URL", fix);
  }
  if (parsed.origin !== url) return failed(`PUBLIC_URL must be an origin (scheme and host only), not ${parsed.origin}${parsed.pathname}`, fix);
  if (parsed.protocol !== "https:" && !LOOPBACK.test(url)) return failed(`PUBLIC_URL ${url} is not https:// (http:// is allowed only for a loopback address)`, fix);
  return passed(`PUBLIC_URL is ${url}`);
}
