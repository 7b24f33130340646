import { generateKeyPairSync } from "node:crypto";
import { configDefaults, defineConfig } from "vitest/config";
import { workerProjects } from "./vitest.workers.ts";
import { ReliabilitySummary } from "./test/reliability/support/summary-reporter.ts";

/*
 * `npm run test:reliability`: fuzzing, concurrency storms and faults (test/reliability), apart from `npm test`.
 * RELIABILITY_PROFILE=ci runs the small profile (.ci/run); RELIABILITY_SEED replays one fast-check run; RELIABILITY_ONLY
 * (a part of an interface's name) and RELIABILITY_CASES fuzz one interface at a given count, to measure or replay it;
 * RELIABILITY_FUZZ_MINUTES is the full profile's fuzzing time per core (test/reliability/support/profile.ts).
 */
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
        worker("reliability", ["test/reliability/**/*.test.ts"], ["test/reliability/faults/d1-*.test.ts"], { vars }),
        // D1 errors at each write: the same Worker behind a test-only entry that wraps its D1 binding.
        worker("reliability-d1-faults", ["test/reliability/faults/d1-*.test.ts"], [], { vars, main: "./test/reliability/support/faulty-d1.entry.ts" }),
      ],
    },
  };
});
