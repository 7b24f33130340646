import { settingsProblems, featureSettings } from "../../../env";
import { type CheckOutcome, failed, passed, skipped } from "../self-check.types";

/**
 * PUBLIC_URL is needed once something tells the outside world the gateway's address: single sign-on (its issuer and
 * redirect address). While SSO is not configured (OIDC_CLIENT_ID unset) nothing needs it. Its rule is the setting's
 * own (env.ts, the publicUrl group), so the check and the settings never disagree on what is valid.
 */
export function publicUrlCheck(env: Env): CheckOutcome {
  const oidcClientId = (env as unknown as Record<string, unknown>).OIDC_CLIENT_ID;
  if (typeof oidcClientId !== "string" || oidcClientId.trim() === "") return skipped("nothing needs PUBLIC_URL yet: single sign-on is not configured (OIDC_CLIENT_ID is not set)");
  const fix = "Set PUBLIC_URL in wrangler.toml [vars] to the https origin the Marketplace and browsers reach, e.g. https://gateway.example.com (no path; http:// only for 127.0.0.1 or localhost).";
  const problem = settingsProblems(env).publicUrl;
  if (problem !== "ok") return failed(`PUBLIC_URL ${problem.problem}`, fix);
  const url = featureSettings(env, "publicUrl").url;
  if (url === undefined) return failed("single sign-on is configured (OIDC_CLIENT_ID) but PUBLIC_URL is not set", fix);
  return passed(`PUBLIC_URL is ${url}`);
}
