import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { hermeticWorker } from "../support/hermetic-worker";

/**
 * The Workers test project takes its Worker from hermeticWorker (vitest.workers.ts). Here it runs against a copy of
 * wrangler.toml beside a poisoned .dev.vars and .env: nothing of them may reach the bindings, while [vars] do.
 */
const dir = mkdtempSync(path.join(tmpdir(), "hermetic-"));
const configPath = path.join(dir, "wrangler.toml");
copyFileSync(path.join(import.meta.dirname, "../../wrangler.toml"), configPath);
writeFileSync(path.join(dir, ".dev.vars"), 'V1_ENCRYPT_TYPE="2"\nPOISON_FROM_DEV_VARS="1"\n');
writeFileSync(path.join(dir, ".env"), 'POISON_FROM_DOT_ENV="1"\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("tests never read .dev.vars", () => {
  it("keeps wrangler.toml's [vars] and drops .dev.vars and .env", () => {
    const bindings = hermeticWorker(configPath).workerOptions.bindings ?? {};
    expect(bindings).toMatchObject({ V1_ENCRYPT_TYPE: "1", USAGE_PUSH_API: "new" });
    expect(bindings).not.toHaveProperty("POISON_FROM_DEV_VARS");
    expect(bindings).not.toHaveProperty("POISON_FROM_DOT_ENV");
  });

  it("is needed: wrangler's default, which the plugin uses with wrangler.configPath, reads .dev.vars", () => {
    const bindings = unstable_getMiniflareWorkerOptions(configPath).workerOptions.bindings ?? {};
    expect(bindings).toMatchObject({ V1_ENCRYPT_TYPE: "2", POISON_FROM_DEV_VARS: "1" });
  });

  it("leaves the loader switch as it found it", () => {
    const before = process.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV;
    hermeticWorker(configPath);
    expect(process.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV).toBe(before);
  });
});
