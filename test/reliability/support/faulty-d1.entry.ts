import worker, { InstanceActor as RealInstanceActor } from "../../../src/index";
import { withFaultyD1 } from "./faulty-d1";

/*
 * The Worker under test for test/reliability/faults/d1-*.test.ts: the real entry and the real actor, each given a DB
 * binding that fails the write the test names (faulty-d1.ts). Nothing in src/ knows about it.
 */

export class InstanceActor extends RealInstanceActor {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, withFaultyD1(env));
  }
}

export default {
  fetch: (request, env, ctx) => worker.fetch(request, withFaultyD1(env), ctx),
  scheduled: (controller, env) => worker.scheduled(controller, withFaultyD1(env)),
} satisfies ExportedHandler<Env>;
