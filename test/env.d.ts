// Test-only bindings, added by vitest.workers.ts.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    // Optional secrets (wrangler types lists only the required ones); vitest.workers.ts sets them.
    KIT_ACCESS_KEY: string;
    KIT_RSA_PRIVATE_KEY: string;
    SELLER_WEBHOOK_SECRET: string;
    // vitest.reliability.config.ts: "full" or "ci", a fast-check seed to replay ("" for a random one), and the knobs of
    // test/reliability/support/profile.ts.
    RELIABILITY_PROFILE?: string;
    RELIABILITY_SEED?: string;
    RELIABILITY_ONLY?: string;
    RELIABILITY_CASES?: string;
    RELIABILITY_FUZZ_MINUTES?: string;
  }
}
