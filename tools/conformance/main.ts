// The Marketplace's interface debugger (接口调试) and dial tests (拨测), run by you against any deployment:
//
//   npm run simulate -- --help
//
// See the README, "Check your deployment". Exit 0: every case passed; 1: a case failed; 2: the command itself is wrong.
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { baseUrl } from "./client";
import { seededRandom } from "../seeded-random";
import { Context, SUITES, type SuiteName } from "./framework";
import { SettingsError, loadSettings } from "./settings";
import { kitSuite } from "./suites/kit";
import { licenseSuite } from "./suites/license";
import { ordersSuite } from "./suites/orders";
import { ssoSuite } from "./suites/sso";
import { v1Suite } from "./suites/v1";
import { v2Suite } from "./suites/v2";

const RUNNERS: Record<SuiteName, (ctx: Context) => Promise<void>> = { v2: v2Suite, v1: v1Suite, kit: kitSuite, license: licenseSuite, orders: ordersSuite, sso: ssoSuite };

export interface Options {
  url: string;
  suites: SuiteName[];
  envFile: string | undefined;
  json: string | undefined;
  seed: number;
  real: boolean;
  /** --real: stop before the release, so the purchase stays active for the seller's product to look at. */
  keep: boolean;
  /** --real: a pay-per-use (ON_DEMAND) purchase, kept active, to report usage for. */
  onDemand: boolean;
  /** --real: how long to wait for the purchase to be provisioned (a backend answering 202 needs a person). */
  waitSeconds: number;
  key: string | undefined;
  help: boolean;
}

export class UsageError extends Error {}

export const USAGE = `npm run simulate -- [flags]: the Marketplace's interface debugger, against any deployment

  --url <url>          the production address (default http://127.0.0.1:$PORT/saas, PORT default 8787)
  --suite <names>      v2, v1, kit, license, orders, sso or all (default), comma-separated
  --env-file <file>    the gateway's settings to sign with (default .dev.vars)
  --key <key>          SAAS_ACCESS_KEY, instead of the one in the settings
  --seed <n>           play the random order of an earlier run again
  --json <file>        write the report as JSON
  --real               a real purchase (no testFlag) through query order and your backend: buy, renew, freeze,
                       unfreeze, upgrade, release (v2 only)
  --keep               with --real: stop before the release, so the entitlement stays active
  --on-demand          with --real: a pay-per-use purchase (order id OD…; the local fake Marketplace answers it as
                       ON_DEMAND), kept active, to report usage for
  --wait <seconds>     with --real: how long to wait for provisioning (default 30; a backend that answered 202
                       needs you to POST …/provisioned meanwhile)
  --help               this text

Exit 0: every case passed; 1: a case failed; 2: the command itself is wrong.`;

const VALUE_FLAGS = new Set(["url", "suite", "env-file", "json", "seed", "key", "wait"]);
const SWITCHES = new Set(["real", "keep", "on-demand", "help"]);

export function parseArguments(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): Options {
  const values: Record<string, string> = {};
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match?.[1]) throw new UsageError(`unexpected argument "${arg}"`);
    const name = match[1];
    if (SWITCHES.has(name)) {
      switches.add(name);
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new UsageError(`unknown flag --${name}`);
    const value = match[2] ?? argv[++i];
    if (value === undefined || value.startsWith("--")) throw new UsageError(`--${name} needs a value`);
    values[name] = value;
  }
  const onDemand = switches.has("on-demand");
  const real = switches.has("real") || onDemand;
  const keep = switches.has("keep") || onDemand;
  if (keep && !real) throw new UsageError("--keep applies to a real purchase (--real)");
  const waitSeconds = values.wait === undefined ? 30 : Number(values.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds <= 0) throw new UsageError(`--wait ${values.wait} is not a positive number of seconds`);
  const url = values.url ?? `http://127.0.0.1:${env.PORT || "8787"}`;
  try {
    if (!/^https?:$/.test(new URL(url).protocol)) throw new Error();
  } catch {
    throw new UsageError(`--url ${url} is not an http(s) URL`);
  }
  // A real purchase exists only for the V2 lifecycle: --real alone means --suite v2.
  const asked = (values.suite ?? (real ? "v2" : "all")).split(",").map((s) => s.trim());
  if (real && asked.some((s) => s !== "v2")) throw new UsageError("--real applies to the v2 suite only (--suite v2)");
  const suites = asked.includes("all") ? [...SUITES] : asked.map((s) => SUITES.find((name) => name === s) ?? fail(`unknown suite "${s}" (one of ${SUITES.join(", ")}, all)`));
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed ${values.seed} is not a non-negative integer`);
  return { url, suites: [...new Set(suites)], envFile: values["env-file"], json: values.json, seed, real, keep, onDemand, waitSeconds, key: values.key, help: switches.has("help") };
}

function fail(message: string): never {
  throw new UsageError(message);
}

export async function run(options: Options, print: (line: string) => void = console.log): Promise<{ failed: number; report: object }> {
  const settings = loadSettings(options.envFile, options.key ? { ...process.env, SAAS_ACCESS_KEY: options.key } : process.env);
  const base = baseUrl(options.url);
  const ctx = new Context(base, settings, seededRandom(options.seed), options, print);
  const startedAt = new Date().toISOString();
  print(`conformance: ${options.suites.join(", ")} against ${base} (${options.real ? "real purchase" : "debug cases, testFlag 1"}); keys from ${settings.source}; seed ${options.seed}\n`);
  for (const suite of options.suites) await RUNNERS[suite](ctx);
  const count = (status: string) => ctx.results.filter((r) => r.status === status).length;
  const failed = count("fail");
  const bySuite = Object.fromEntries(options.suites.map((s) => [s, { passed: 0, failed: 0, skipped: 0 }]));
  for (const r of ctx.results) {
    const entry = bySuite[r.suite];
    if (entry) entry[r.status === "ok" ? "passed" : r.status === "fail" ? "failed" : "skipped"] += 1;
  }
  print(`\n${count("ok")} passed, ${failed} failed, ${count("skip")} skipped (seed ${options.seed}; --seed ${options.seed} plays the same order again)`);
  for (const [suite, c] of Object.entries(bySuite)) print(`  ${suite.padEnd(8)} ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
  if (ctx.nextSteps.length > 0) print(`\nNext (SELLER_API_TOKEN as in ${options.envFile ?? ".dev.vars"}):\n${ctx.nextSteps.map((step) => `  ${step}`).join("\n")}`);
  const report = {
    url: options.url,
    base,
    suites: options.suites,
    mode: options.real ? "real" : "debug",
    seed: options.seed,
    startedAt,
    finishedAt: new Date().toISOString(),
    summary: { passed: count("ok"), failed, skipped: count("skip"), bySuite },
    cases: ctx.results,
  };
  if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  return { failed, report };
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseArguments(process.argv.slice(2));
    if (options.help) {
      console.log(USAGE);
      return 0;
    }
    const { failed } = await run(options);
    return failed > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof SettingsError) {
      console.error(`simulate: ${error.message} (--help lists the flags)`);
      return 2;
    }
    throw error;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
