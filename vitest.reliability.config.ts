import { generateKeyPairSync } from "node:crypto";
import { configDefaults, defineConfig } from "vitest/config";
import { workerProjects } from "./vitest.workers.ts";
import { ALERT_WEBHOOK_URL_UNDER_TEST } from "./test/reliability/support/day-settings.ts";
import { ReliabilitySummary } from "./test/reliability/support/summary-reporter.ts";

/*
 * `npm run test:reliability`: fuzzing, concurrency storms and faults (test/reliability), apart from `npm test`.
 * RELIABILITY_PROFILE=ci runs the small profile (.ci/run); RELIABILITY_SEED replays one fast-check run; RELIABILITY_ONLY
 * (a part of an interface's name) and RELIABILITY_CASES fuzz one interface at a given count, to measure or replay it;
 * RELIABILITY_FUZZ_MINUTES is the full profile's fuzzing time per core (test/reliability/support/profile.ts).
 */
function withHookTimeout<P extends { test: object }>(project: P, hookTimeout: number): P {
  return { ...project, test: { ...project.test, hookTimeout } };
}

export default defineConfig(async () => {
  const worker = await workerProjects();
  // A seller RSA key, so fuzzed applicationSyncs reach the decryption of clientSecret instead of a settings error.
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 3072, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
  const vars = {
    RELIABILITY_PROFILE: process.env.RELIABILITY_PROFILE ?? "full",
    RELIABILITY_SEED: process.env.RELIABILITY_SEED ?? "",
    RELIABILITY_ONLY: process.env.RELIABILITY_ONLY ?? "",
    RELIABILITY_CASES: process.env.RELIABILITY_CASES ?? "",
    RELIABILITY_FUZZ_MINUTES: process.env.RELIABILITY_FUZZ_MINUTES ?? "",
    KIT_RSA_PRIVATE_KEY: privateKey,
  };
  return {
    test: {
      silent: "passed-only" as const,
      // Both fuzz shares at once, one per core: vitest's default here (cores - 1) ran them one after the other.
      maxWorkers: 2,
      reporters: [...configDefaults.reporters, new ReliabilitySummary()],
      projects: [
        worker("reliability", ["test/reliability/**/*.test.ts"], ["test/reliability/faults/d1-*.test.ts", "test/reliability/faults/day-*.test.ts"], { vars }),
        // D1 errors at each write: the same Worker behind a test-only entry that wraps its D1 binding.
        worker("reliability-d1-faults", ["test/reliability/faults/d1-*.test.ts"], [], { vars, main: "./test/reliability/support/faulty-d1.entry.ts" }),
        // The simulated day at scale: D1 faults too, and alerts on (their robot is the test's fetch mock).
        withHookTimeout(
          worker("reliability-day", ["test/reliability/faults/day-*.test.ts"], [], {
            vars: { ...vars, ALERT_WEBHOOK_URL: ALERT_WEBHOOK_URL_UNDER_TEST, ALERT_WEBHOOK_FORMAT: "json", ALERT_MIN_SEVERITY: "warning" },
            main: "./test/reliability/support/faulty-d1.entry.ts",
          }),
          // After a day's worth of log lines, workerd is still relaying them when the shared settle hook runs.
          120_000,
        ),
      ],
    },
  };
});
