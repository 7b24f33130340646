import { getSettings } from "../env";
import { publishedKeys } from "../license/signing-keys";
import { log } from "../observability/log";
import { toGatewayError } from "../protocol/errors";

/** Verifiers may cache the key set this long; a rotation keeps the old key published for much longer (README). */
const MAX_AGE_SECONDS = 3600;

/** GET /.well-known/jwks.json: the public keys of builtin online licenses (RFC 7517), current first. */
export async function jwks(env: Env): Promise<Response> {
  try {
    const settings = getSettings(env);
    const keys = await publishedKeys(settings.license);
    return Response.json({ keys }, { headers: { "Cache-Control": `public, max-age=${MAX_AGE_SECONDS}` } });
  } catch (error) {
    const failure = toGatewayError(error);
    log("error", "jwks.failed", { detail: failure.detail ?? failure.message });
    return Response.json({ error: "gateway misconfigured: see /admin/api/health" }, { status: 503, headers: { "Cache-Control": "no-store" } });
  }
}
