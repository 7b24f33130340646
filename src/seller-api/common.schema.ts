import { z } from "zod";

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 500;

export const ErrorBody = z.object({ error: z.string().describe("what was wrong, for a human") });

/** Every route can answer these two before it looks at its input. */
export const commonErrors = {
  401: { description: "no token, or not the seller API token", schema: ErrorBody },
  503: { description: "the gateway's settings are broken; the operator sees which in /admin/api/health", schema: ErrorBody },
};

export const InstanceIdParams = z.strictObject({
  id: z.string().min(1).max(64).describe("the instance id the Marketplace knows (instanceId of newInstance)"),
});

export const PageLimit = z.coerce
  .number()
  .int()
  .min(1)
  .max(MAX_PAGE_SIZE)
  .default(DEFAULT_PAGE_SIZE)
  .describe(`page size, 1 to ${MAX_PAGE_SIZE}`);

export const Cursor = z.string().min(1).max(512).describe("opaque: the nextCursor of the previous page");

/**
 * True only when two types are mutually assignable: `const _: SameType<z.output<typeof S>, T> = true` fails the
 * build when a documented schema and the type the code really sends drift apart, in either direction.
 */
export type SameType<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
