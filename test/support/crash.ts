/**
 * The reason to give `state.abort()` when a test crashes a Durable Object on purpose. workerd logs every abort as an
 * "uncaught exception" with a native stack trace; the test plugin drops only the line of an object being disposed
 * ("broken.outputGateBroken; jsg.Error: Instance dispose"), so an intended crash says it is one and the run's output
 * stays the results.
 */
export function intendedCrash(what: string): string {
  return `Instance dispose (intended by the test: ${what})`;
}
