/**
 * Java's String.compareTo order, by UTF-16 code unit: what the Marketplace's TreeMaps and "natural sorting" use
 * (V1 authToken parameters, AK/SK canonical query and headers, the usage-push body).
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * JSON with object keys sorted by code unit at every level, no whitespace, undefined members dropped: the same value
 * always gives the same bytes, however it was built or read back from storage. JSON.stringify alone cannot do this:
 * engines put integer-like keys first in numeric order whatever the insertion order. Values JSON cannot carry
 * faithfully (NaN, Infinity, bigint, Dates, class instances, cycles, array holes) are refused rather than silently
 * changed, since what is hashed or signed must be exactly what the data says.
 */
export function canonicalJson(value: unknown): string {
  return serialise(value, []);
}

function serialise(value: unknown, ancestors: object[]): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`cannot sign a non-finite number (${value})`);
      return JSON.stringify(value);
    case "object": {
      if (ancestors.includes(value)) throw new TypeError("cannot sign a cyclic structure");
      const inner = [...ancestors, value];
      if (Array.isArray(value)) {
        // Array.from visits holes (as undefined, refused below) where map would skip them and emit `1,,2`.
        const items: unknown[] = value;
        return `[${Array.from(items, (item) => serialise(item, inner)).join(",")}]`;
      }
      if (!isPlainObject(value)) throw new TypeError(`cannot sign a ${value.constructor?.name ?? "non-plain"} object`);
      const members = Object.keys(value)
        .filter((name) => value[name] !== undefined)
        .sort(compareCodeUnits)
        .map((name) => `${JSON.stringify(name)}:${serialise(value[name], inner)}`);
      return `{${members.join(",")}}`;
    }
    default:
      throw new TypeError(`cannot sign a value of type ${typeof value}`);
  }
}
