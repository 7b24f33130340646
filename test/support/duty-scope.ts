import { env } from "cloudflare:workers";
import { type ActorKv, type InstanceScope, instanceScope } from "../../src/actor/instance-scope";

/** An instance actor's scope without the actor: real D1, an in-memory storage, a queue that runs work at once. */
export interface DutyHarness {
  scope: InstanceScope;
  storage: Map<string, unknown>;
  /** The `notBefore` of every re-arm the work asked for. */
  rearms: number[];
}

export function dutyHarness(): DutyHarness {
  const storage = new Map<string, unknown>();
  const kv: ActorKv = {
    get: <T>(key: string) => storage.get(key) as T | undefined,
    put: (key, value) => {
      storage.set(key, structuredClone(value));
    },
    delete: (key) => storage.delete(key),
  };
  const rearms: number[] = [];
  const scope = instanceScope({
    env,
    kv,
    transactionSync: (work) => work(),
    waitUntil: () => undefined,
    serialize: (work) => work(),
    storeNonce: () => undefined,
    armAlarm: async (notBefore = 0) => {
      rearms.push(notBefore);
    },
  });
  return { scope, storage, rearms };
}
