import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { configDefaults, defineConfig } from "vitest/config";
import { LogSecretScan } from "./test/setup/log-secret-scan.ts";
import { hermeticWorker } from "./test/support/hermetic-worker.ts";
import { TEST_WEBHOOK_SECRET, outboundMarketplace } from "./test/support/outbound-marketplace.ts";

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

/**
 * What the log secret scan (test/setup/log-secret-scan.ts) looks for in every console line of the suite: every test
 * secret above plus the passwords and client secrets tests send or store (test/v1/v1-answers.test.ts,
 * test/webhook-mode/seller-api.test.ts, test/kit/kit-v2.test.ts, test/protocol/kit-client-secret.test.ts).
 */
export const SCANNED_SECRETS: Record<string, string> = {
  ...TEST_SECRETS,
  "test password": "S3cret!pass",
  "seller's test password": "S3cret-from-seller!",
  "kit client secret": "s3cr3t-value",
  "kit client secret 1": "client-secret-1",
  "kit RSA test secret": "tenant-app-client-secret-Zx9!",
};

/** Webhooks go to the outbound test service's fake seller backend (test/support/outbound-marketplace.ts). */
const TEST_WEBHOOK_URL = "http://127.0.0.1:9/__seller/webhook";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  // Not `wrangler: { configPath }`: the plugin then reads .dev.vars, and a local setting there (say V1_ENCRYPT_TYPE)
  // silently changes what the tests see.
  const { main, workerOptions } = hermeticWorker(path.join(import.meta.dirname, "wrangler.toml"));
  /** The Worker under test, in workerd, with every outbound fetch landing in the test service. */
  const worker = (name: string, include: string[], exclude: string[], vars: Record<string, string> = {}) => ({
    plugins: [
      cloudflareTest({
        main,
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
            ...vars,
          },
        },
      }),
    ],
    test: { name, include, exclude, setupFiles: ["./test/setup/apply-migrations.ts", "./test/setup/settle-background-work.ts"] },
  });
  return {
    test: {
      // Structured logs of passing tests are noise; a failing test still shows its own.
      silent: "passed-only" as const,
      // The default reporter, plus the scan that fails the run when any log line holds a test secret.
      reporters: [...configDefaults.reporters, new LogSecretScan(SCANNED_SECRETS)],
      projects: [
        worker("workers", ["test/**/*.test.ts"], ["test/node/**", "test/webhook-mode/**", "test/online-license/webhook/**"]),
        // The same Worker with PROVISIONING_MODE=webhook: the seller's backend provisions each purchase.
        worker("workers-webhook", ["test/webhook-mode/**/*.test.ts"], [], { PROVISIONING_MODE: "webhook" }),
        // Online licenses issued by the seller's backend (license.requested) instead of signed by the gateway.
        worker("workers-license-webhook", ["test/online-license/webhook/**/*.test.ts"], [], { LICENSE_MODE: "webhook" }),
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
