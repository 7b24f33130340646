import { configDefaults, defineConfig } from "vitest/config";
import { LogSecretScan } from "./test/setup/log-secret-scan.ts";
import { TEST_SECRETS, workerProjects } from "./vitest.workers.ts";

export { TEST_SECRETS } from "./vitest.workers.ts";

/**
 * What the log secret scan (test/setup/log-secret-scan.ts) looks for in every console line of the suite: every test
 * secret plus the passwords and client secrets tests send or store (test/v1/v1-answers.test.ts,
 * test/webhook-mode/seller-api.test.ts, test/kit/kit-v2.test.ts, test/protocol/kit-client-secret.test.ts).
 */
export const SCANNED_SECRETS: Record<string, string> = {
  ...TEST_SECRETS,
  "test password": "S3cret!pass",
  "seller's test password": "S3cret-from-seller!",
  "kit client secret": "s3cr3t-value",
  "kit client secret 1": "client-secret-1",
  "kit RSA test secret": "tenant-app-client-secret-Zx9!",
  // test/support/sso.ts: the app's OIDC client secret and the tenant app's secret the gateway sends to the IdP.
  "OIDC client secret": "test-oidc-client-secret-0123456789abcdef",
  "tenant IdP client secret": "tenant-app-secret-for-sso",
};

export default defineConfig(async () => {
  const worker = await workerProjects();
  return {
    test: {
      // Structured logs of passing tests are noise; a failing test still shows its own.
      silent: "passed-only" as const,
      // The default reporter, plus the scan that fails the run when any log line holds a test secret.
      reporters: [...configDefaults.reporters, new LogSecretScan(SCANNED_SECRETS)],
      projects: [
        // test/reliability runs on its own: npm run test:reliability (vitest.reliability.config.ts).
        worker("workers", ["test/**/*.test.ts"], ["test/node/**", "test/webhook-mode/**", "test/online-license/webhook/**", "test/reliability/**", "test/alerts/**"]),
        // The same Worker with PROVISIONING_MODE=webhook: the seller's backend provisions each purchase.
        worker("workers-webhook", ["test/webhook-mode/**/*.test.ts"], [], { vars: { PROVISIONING_MODE: "webhook" } }),
        // Online licenses issued by the seller's backend (license.requested) instead of signed by the gateway.
        worker("workers-license-webhook", ["test/online-license/webhook/**/*.test.ts"], [], { vars: { LICENSE_MODE: "webhook" } }),
        // Alerts on: every problem's alert goes to the outbound test service's chat-robot fake.
        worker("workers-alerts", ["test/alerts/**/*.test.ts"], [], {
          vars: { ALERT_WEBHOOK_URL: "http://127.0.0.1:9/__alerts/hook", PUBLIC_URL: "https://gateway.example.com" },
        }),
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
