import { z } from "zod";
import type { TimeFormat } from "../time-formats";

/*
 * Building blocks shared by the schema families. Messages set here are short and never quote the value; parse.ts
 * prefixes them with the field path.
 */

/**
 * Absent, `null` and `""` all mean "not sent" for an optional field: Java senders serialise unset fields as null, and
 * V1 GET requests carry every parameter, empty ones too (saas-production-interface §5.1).
 */
function absentToUndefined(value: unknown): unknown {
  return value === null || value === "" ? undefined : value;
}

/** A mandatory, non-empty string, at most `max` characters when the spec gives a length. */
export function requiredString(max?: number) {
  const s = z.string().min(1);
  return max === undefined ? s : s.max(max);
}

/** An optional string; null and "" read as absent (output undefined). */
export function optionalString(max?: number) {
  const s = max === undefined ? z.string() : z.string().max(max);
  return z.preprocess(absentToUndefined, s.optional());
}

/**
 * A string in `format`. The output stays the text as sent (handlers convert with time-formats, which cannot fail on
 * it), so fingerprints and stored requests keep the Marketplace's own value.
 */
export function requiredTime(format: TimeFormat) {
  return z
    .string()
    .min(1)
    .superRefine((text, ctx) => {
      const result = format.check(text);
      if (!result.ok) ctx.addIssue({ code: "custom", message: result.problem });
    });
}

export function optionalTime(format: TimeFormat) {
  return z.preprocess(absentToUndefined, requiredTime(format).optional());
}

/**
 * A "0"/"1" flag that may also arrive as a JSON number; absent, null and "" read as false. Used for every optional
 * `testFlag` (V2 §3: newest pages omit it on real calls, older ones send "0"; README point 11) and V1 yes/no flags.
 */
export const OptionalFlag = z
  .preprocess(absentToUndefined, z.unknown())
  .transform((value, ctx): boolean => {
    if (value === undefined || value === "0" || value === 0) return false;
    if (value === "1" || value === 1) return true;
    ctx.addIssue({ code: "custom", message: 'must be "0" or "1"' });
    return z.NEVER;
  });

/**
 * An integer out of `allowed`, sent as a JSON number or as a digit string (kit `flag`/`testFlag` are Integer on the
 * V2 pages; V1 kit bodies are hashed as strings and may well carry them as such).
 */
export function integerOf<const T extends readonly number[]>(allowed: T) {
  const shown = allowed.join("|");
  return z.unknown().transform((value, ctx): T[number] => {
    if (value === undefined || value === null) {
      ctx.addIssue({ code: "custom", message: "required" });
      return z.NEVER;
    }
    const n = typeof value === "number" ? value : typeof value === "string" && /^\d{1,3}$/.test(value) ? Number(value) : NaN;
    if (allowed.includes(n)) return n as T[number];
    ctx.addIssue({ code: "custom", message: `must be one of ${shown}` });
    return z.NEVER;
  });
}

/** A V1 query parameter that the spec types as Integer: at most `maxDigits` decimal digits, coerced to a number. */
export function optionalDigits(maxDigits: number) {
  return z.preprocess(
    absentToUndefined,
    z
      .string()
      .regex(new RegExp(`^\\d{1,${maxDigits}}$`), `must be an integer of at most ${maxDigits} digits`)
      .transform(Number)
      .optional(),
  );
}

/** A decimal amount kept as text (BigDecimal: no float rounding), at most 3 decimals and `maxLength` characters. */
export function optionalAmount(maxLength: number, signed: boolean) {
  const re = signed ? /^-?\d+(\.\d{1,3})?$/ : /^\d+(\.\d{1,3})?$/;
  const what = signed ? "a decimal number" : "a non-negative decimal number";
  return z.preprocess(absentToUndefined, z.string().max(maxLength).regex(re, `must be ${what} with at most 3 decimals`).optional());
}

/**
 * Accepts `schema`'s value either as is or as a JSON string of it. V1 kit calls send lists as JSON strings and the V2
 * examples still show quoted strings (saas-production-interface §6.3, §6.5, open question 13).
 */
export function jsonOrValue<S extends z.ZodType>(schema: S) {
  return z.preprocess((value, ctx) => {
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: "not valid JSON" });
      return z.NEVER;
    }
  }, schema);
}

/** Moves the parsed `testFlag` to `isTest`; handlers never look at the wire value. */
export function withIsTest<T extends { testFlag: boolean }>({ testFlag, ...rest }: T): Omit<T, "testFlag"> & { isTest: boolean } {
  return { ...rest, isTest: testFlag };
}

export const MAX_INSTANCE_IDS = 100;
export const MAX_INSTANCE_ID_LENGTH = 64;

/**
 * `queryInstance` `instanceId`: a comma-separated list of at most 100 IDs of at most 64 characters each (§3.2, §5.4).
 * Blanks around IDs and empty segments (a trailing comma) are dropped; duplicates are answered once.
 */
export function splitInstanceIds(text: string): string[] {
  return [...new Set(text.split(",").map((id) => id.trim()).filter((id) => id !== ""))];
}

export const InstanceIdList = z
  .string()
  .min(1)
  .transform((text, ctx) => {
    const ids = splitInstanceIds(text);
    if (ids.length === 0) {
      ctx.addIssue({ code: "custom", message: "names no instance ID" });
      return z.NEVER;
    }
    if (ids.length > MAX_INSTANCE_IDS) {
      ctx.addIssue({ code: "custom", message: `too many instance IDs (max ${MAX_INSTANCE_IDS})` });
      return z.NEVER;
    }
    const long = ids.findIndex((id) => id.length > MAX_INSTANCE_ID_LENGTH);
    if (long >= 0) {
      ctx.addIssue({ code: "custom", message: `ID number ${long + 1} is too long (max ${MAX_INSTANCE_ID_LENGTH})` });
      return z.NEVER;
    }
    return ids;
  });
