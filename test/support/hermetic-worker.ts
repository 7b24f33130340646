import { unstable_getMiniflareWorkerOptions } from "wrangler";

/**
 * An env file that never exists. Handed to wrangler as the only env file, it stops wrangler from reading `.dev.vars`
 * beside the config (wrangler reads `.dev.vars` only when no env files are given: getVarsForDev in wrangler's
 * dev-vars.ts), and the plugin offers no switch of its own: given `wrangler.configPath` it always reads it.
 */
export const NO_ENV_FILE = ".env.never-read-by-tests";

export interface HermeticWorker {
  main: string;
  workerOptions: ReturnType<typeof unstable_getMiniflareWorkerOptions>["workerOptions"];
}

/**
 * The Worker as wrangler.toml declares it (entry, compatibility, D1, Durable Objects, [vars]), without any local
 * secrets: no `.dev.vars`, no `.env*`, no process environment. Tests set every secret themselves, so a developer's
 * `.dev.vars` can neither break nor mask a test.
 */
export function hermeticWorker(configPath: string): HermeticWorker {
  // Off during the call: it would load `.env`/`.env.local` next to the config (and, with CLOUDFLARE_INCLUDE_PROCESS_ENV,
  // the shell's variables) once `.dev.vars` is skipped.
  const previous = process.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV;
  process.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV = "false";
  try {
    // `envFiles` is honoured by wrangler 4.155 but missing from its types; test/node/hermetic-tests.test.ts fails
    // if a wrangler update stops honouring it.
    const options: Parameters<typeof unstable_getMiniflareWorkerOptions>[2] & { envFiles: string[] } = { envFiles: [NO_ENV_FILE] };
    const { main, workerOptions } = unstable_getMiniflareWorkerOptions(configPath, undefined, options);
    if (!main) throw new Error(`${configPath} names no main module`);
    return { main, workerOptions };
  } finally {
    if (previous === undefined) delete process.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV;
    else process.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV = previous;
  }
}
