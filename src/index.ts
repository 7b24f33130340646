import { router } from "./routes/router";

export { InstanceActor } from "./instances/instance.actor";

export default {
  fetch: (request, env, ctx) => router.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
