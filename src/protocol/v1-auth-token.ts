import { AuthError } from "./errors";
import { hmacSha256, safeEqual } from "./hmac";
import { compareCodeUnits } from "./canonical-json";

/**
 * V1 `authToken`, spec saas-production-interface §5.1:
 *   Base64(HMAC-SHA256(key = accessKey + timeStamp, msg = "k=v&k=v" of every other parameter, sorted by name)).
 * GET: URL-decoded query parameters, empty ones included. Kit POST: top-level body fields, blank ones skipped.
 */
export function createV1AuthToken(accessKey: string, params: Record<string, string>): string {
  const timeStamp = params.timeStamp;
  if (timeStamp === undefined) throw new AuthError("missing timeStamp");
  const message = Object.keys(params)
    .filter((name) => name !== "authToken")
    .sort(compareCodeUnits)
    .map((name) => `${name}=${params[name]}`)
    .join("&");
  return hmacSha256(accessKey + timeStamp, message).toString("base64");
}

/** Parameters of a V1 GET call, URL-decoded (URLSearchParams decodes `+` as a space, as a servlet does). */
export function v1QueryParams(url: URL): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of url.searchParams) params[name] = value;
  return params;
}

/**
 * Top-level fields of a V1 kit POST body as the official demo strings them: blanks skipped, nested values as
 * compact JSON (V1 sends lists as JSON strings already).
 */
export function v1KitBodyParams(body: Record<string, unknown>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    if (value === null || value === undefined) continue;
    const text = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
    if (text.trim() === "") continue;
    params[name] = text;
  }
  return params;
}

/** What the Marketplace's parameter names look like (camelCase words); anything else could hide an `=` or `&`. */
const PARAMETER_NAME = /^\w+$/;
/** `&name=` inside a value: in the signed string it reads exactly like the border of the next parameter. */
const PARAMETER_BORDER = /&(\w+)=/;

/**
 * The signed message joins `name=value` pairs with `&` and no escaping, so the same message, and token, can be cut
 * into other parameters: `skuCode=s&testFlag=1` is also one `skuCode` of "s&testFlag=1" with no testFlag. It has
 * exactly one reading when no name holds anything but word characters and no value holds `&word=`; a call that
 * breaks this is refused, so a captured call cannot be re-cut into a different one (docs/lifecycle-rules.md
 * "Signatures"). A plain `&` or `=` in a value (a company name, base64 padding) is left alone.
 */
function requireOneReading(params: Record<string, string>): void {
  for (const [name, value] of Object.entries(params)) {
    // Not quoted: past its "=" such a name is a value, maybe a person's name.
    if (!PARAMETER_NAME.test(name)) throw new AuthError("a parameter name is not a plain word (letters, digits, _)");
    const border = PARAMETER_BORDER.exec(value);
    if (border) throw new AuthError(`parameter ${JSON.stringify(name)} holds "&${border[1]?.slice(0, 40)}=": the signed parameters could be read another way`);
  }
}

export function verifyV1AuthToken(accessKey: string, params: Record<string, string>, authToken: string | null): void {
  if (!authToken) throw new AuthError("missing authToken");
  if (!params.timeStamp) throw new AuthError("missing timeStamp");
  requireOneReading(params);
  const expected = createV1AuthToken(accessKey, params);
  // FAQ: a `+` that the sender did not URL-encode arrives as a space.
  if (!safeEqual(expected, authToken.replace(/ /g, "+"))) throw new AuthError("authToken does not match");
}
