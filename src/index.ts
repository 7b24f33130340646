import { runScheduled } from "./schedule";
import { router } from "./routes/router";

export { InstanceActor } from "./actor/instance.actor";
export { OrderActor } from "./actor/order.actor";
export { LicenseCodeActor } from "./actor/license-code.actor";
export { RateLimiter } from "./actor/rate-limiter.actor";
export { OperationsActor } from "./actor/operations.actor";

export default {
  fetch: (request, env, ctx) => router.fetch(request, env, ctx),
  scheduled: (controller, env) => runScheduled(env, controller.cron, controller.scheduledTime),
} satisfies ExportedHandler<Env>;
