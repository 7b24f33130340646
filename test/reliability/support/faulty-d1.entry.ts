import worker, {
  InstanceActor as RealInstanceActor,
  LicenseCodeActor as RealLicenseCodeActor,
  OperationsActor as RealOperationsActor,
  OrderActor as RealOrderActor,
} from "../../../src/index";
import { withFaultyD1 } from "./faulty-d1";

/*
 * The Worker under test for the D1-fault tests (test/reliability/faults/d1-*.test.ts, day-*.test.ts): the real entry
 * and the real actors, each given a DB binding that fails the write the test names (faulty-d1.ts). Every Durable
 * Object class of wrangler.toml is exported, or its stubs fail (a problem reported by a job would never be written).
 * Nothing in src/ knows about it.
 */

export class InstanceActor extends RealInstanceActor {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, withFaultyD1(env));
  }
}

export class OrderActor extends RealOrderActor {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, withFaultyD1(env));
  }
}

export class LicenseCodeActor extends RealLicenseCodeActor {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, withFaultyD1(env));
  }
}

export class OperationsActor extends RealOperationsActor {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, withFaultyD1(env));
  }
}

export { RateLimiter } from "../../../src/index";

export default {
  fetch: (request, env, ctx) => worker.fetch(request, withFaultyD1(env), ctx),
  scheduled: (controller, env) => worker.scheduled(controller, withFaultyD1(env)),
} satisfies ExportedHandler<Env>;
