import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { hermeticWorker } from "./test/support/hermetic-worker.ts";
import { TEST_WEBHOOK_SECRET, outboundMarketplace } from "./test/support/outbound-marketplace.ts";
import { ittyRouterWithoutSourceMap } from "./test/support/itty-router-source-map.ts";

/*
 * The Workers-runtime test project, shared by vitest.config.ts (the normal suite) and vitest.reliability.config.ts
 * (fuzzing, storms and faults): one place that says how the Worker under test is built and bound.
 */

// Secrets for the Workers runtime under test. Development values only; the suite never reads .dev.vars (see
// hermeticWorker), so it behaves the same on a clean clone and beside any local settings.
export const TEST_SECRETS = {
  SAAS_ACCESS_KEY: "test-saas-access-key",
  KIT_ACCESS_KEY: "test-kit-access-key",
  LICENSE_ACCESS_KEY: "test-license-access-key",
  GENERAL_ACCESS_KEY: "test-general-access-key",
  MARKETPLACE_AK: "TESTAK0000000000",
  MARKETPLACE_SK: "test-marketplace-sk",
  USAGE_PUSH_KEY: "test-usage-push-key",
  DATA_KEY: "dGVzdC1kYXRhLWtleS0zMi1ieXRlcy1sb25nLW9rISE=",
  KIT_RSA_PRIVATE_KEY: "",
  ADMIN_TOKEN: "test-admin-token",
  SELLER_API_TOKEN: "test-seller-api-token",
  SELLER_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
  // Ed25519, generated with openssl genpkey -algorithm ed25519; signs builtin online licenses in tests only.
  LICENSE_SIGNING_KEY: "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINjXM9W3VteOsiKUj3hbZ5sCaMPtiFbl3JKqK4JfU4Nc\n-----END PRIVATE KEY-----",
  LICENSE_PREVIOUS_PUBLIC_KEY: "",
};

/** Webhooks go to the outbound test service's fake seller backend (test/support/outbound-marketplace.ts). */
const TEST_WEBHOOK_URL = "http://127.0.0.1:9/__seller/webhook";

export interface WorkerProjectOptions {
  /** Extra bindings laid over the test ones. */
  vars?: Record<string, string>;
  /** Another entry module than wrangler.toml's main (a test-only wrapper of the real one). */
  main?: string;
}

/** A factory of Workers test projects: the Worker in workerd, with every outbound fetch landing in the test service. */
export async function workerProjects() {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  // Not `wrangler: { configPath }`: the plugin then reads .dev.vars, and a local setting there (say V1_ENCRYPT_TYPE)
  // silently changes what the tests see.
  const { main, workerOptions } = hermeticWorker(path.join(import.meta.dirname, "wrangler.toml"));
  return (name: string, include: string[], exclude: string[], options: WorkerProjectOptions = {}) => ({
    plugins: [
      ittyRouterWithoutSourceMap(),
      cloudflareTest({
        main: options.main ?? main,
        miniflare: {
          ...workerOptions,
          outboundService: outboundMarketplace,
          bindings: {
            ...(workerOptions.bindings ?? {}),
            ...TEST_SECRETS,
            TEST_MIGRATIONS: migrations,
            MARKETPLACE_API_BASE: "http://127.0.0.1:9",
            SELLER_WEBHOOK_URL: TEST_WEBHOOK_URL,
            // Online licenses of this product bind to a device (test/online-license).
            LICENSE_DEVICE_PRODUCTS: "OFFI-DEVICE-LIC",
            ...options.vars,
          },
        },
      }),
    ],
    test: { name, include, exclude, setupFiles: ["./test/setup/apply-migrations.ts", "./test/setup/settle-background-work.ts"] },
  });
}
