import type { OperationsActor } from "./operations.actor";

/**
 * The one operations actor (a singleton by name). Apart from its class so that producers of problems can reach it
 * without importing the class and, through it, the schedule and every job (an import cycle).
 */
export function getOperationsActor(env: Env): DurableObjectStub<OperationsActor> {
  return env.OPERATIONS.get(env.OPERATIONS.idFromName("operations"));
}
