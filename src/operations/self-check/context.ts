/**
 * The context's props of the self-check's own calls: a case it expects to fail (an unknown instance answered 000003)
 * is a check, not a failed Marketplace call, so it opens no callback.failed (src/operations/callback-problems.ts).
 */
export const SELF_CHECK_PROPS = { selfCheck: true } as const;

/** Whether a request's context is the self-check's in-process call. */
export function isSelfCheckContext(ctx: ExecutionContext | undefined): boolean {
  const props: unknown = ctx?.props;
  return typeof props === "object" && props !== null && (props as { selfCheck?: unknown }).selfCheck === true;
}
