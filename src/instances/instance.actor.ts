import { DurableObject } from "cloudflare:workers";

/** One actor per instance id: serialises every operation on that instance (filled in by the lifecycle work). */
export class InstanceActor extends DurableObject<Env> {}
