import { defineConfig } from "vitest/config";
import { workerProjects } from "./vitest.workers.ts";

export { TEST_SECRETS } from "./vitest.workers.ts";

export default defineConfig(async () => {
  const worker = await workerProjects();
  return {
    test: {
      // Structured logs of passing tests are noise; a failing test still shows its own.
      silent: "passed-only" as const,
      projects: [
        // test/reliability runs on its own: npm run test:reliability (vitest.reliability.config.ts).
        worker("workers", ["test/**/*.test.ts"], ["test/node/**", "test/webhook-mode/**", "test/reliability/**"]),
        // The same Worker with PROVISIONING_MODE=webhook: the seller's backend provisions each purchase.
        worker("workers-webhook", ["test/webhook-mode/**/*.test.ts"], [], { vars: { PROVISIONING_MODE: "webhook" } }),
        {
          test: {
            name: "node",
            environment: "node" as const,
            include: ["test/node/**/*.test.ts"],
          },
        },
      ],
    },
  };
});
