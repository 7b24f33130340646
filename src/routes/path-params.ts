/*
 * The router matches the path as it arrived, percent-encoded, and hands its parameters over raw. Routes read them
 * decoded, exactly once, through pathParamsOf (the seller and admin APIs) or decodePathSegment (the kit callbacks):
 * `GET /api/v1/orders/A%3AX` is order `A:X`. docs/lifecycle-rules.md rule 16.
 */

/** The decoded value, or undefined for a malformed escape (`%ZZ`, a cut `%E0%A4`, bytes that are not UTF-8). */
export function decodePathSegment(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** A path parameter whose escapes do not decode: the caller's mistake, answered 400 by the route helpers. */
export class MalformedPathParameter extends Error {
  override readonly name = "MalformedPathParameter";
  constructor(readonly parameter: string) {
    super(`path parameter ${parameter} is not valid percent-encoding`);
  }
}

/** Every parameter of a matched route, decoded; throws MalformedPathParameter naming the first that does not decode. */
export function decodePathParams(raw: Record<string, string | undefined> | undefined): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (value === undefined) continue;
    const text = decodePathSegment(value);
    if (text === undefined) throw new MalformedPathParameter(name);
    decoded[name] = text;
  }
  return decoded;
}
