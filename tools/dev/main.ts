// `npm run dev`: the gateway under `wrangler dev`, behaving like production on one machine.
//   - .dev.vars made from .dev.vars.example when missing; the local D1 migrated (one line, not wrangler's tables);
//   - the fake Marketplace open API started in-process when MARKETPLACE_API_BASE is a loopback URL nobody serves yet
//     (DEV_FAKES=0: never; bring your own), so nothing leaves the machine unless the settings say so;
//   - the cron triggers of wrangler.toml called on their schedule (`wrangler dev` never fires them; DEV_CRONS=0: off);
//   - once the Worker answers, its admin health read, so a broken setting is named at start, not at the first call;
//   - wrangler's own line per request and its blank lines dropped: the gateway already logs one line per request.
// Arguments after `--` go to wrangler (`--env-file`, `--persist-to`, `--inspector-port` are also read here).
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { createInterface } from "node:readline";
import { startFakeMarketplace } from "../fake-marketplace/fake-marketplace";
import { parseEnvFile } from "../conformance/settings";
import { cronsOfWranglerToml, nextRun, parseCron } from "./cron";

// The npm script ends in `--`: Node 22 would otherwise read a wrangler `--env-file` after the script as its own.
const args = process.argv.slice(2).filter((arg, index) => !(index === 0 && arg === "--"));
const port = Number(process.env.PORT ?? "8787");
const origin = `http://127.0.0.1:${port}`;
const say = (line: string) => console.log(`[dev] ${line}`);

function flag(name: string): string | undefined {
  const index = args.findIndex((arg) => arg === name || arg.startsWith(`${name}=`));
  if (index < 0) return undefined;
  const arg = args[index]!;
  return arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : args[index + 1];
}

const envFile = flag("--env-file") ?? ".dev.vars";
if (envFile === ".dev.vars" && !existsSync(envFile)) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  say("created .dev.vars from .dev.vars.example (development values only; never deploy them)");
}
const settings = existsSync(envFile) ? parseEnvFile(readFileSync(envFile, "utf8")) : {};
const toml = readFileSync("wrangler.toml", "utf8");
const tomlVar = (name: string) => new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m").exec(toml)?.[1];
const setting = (name: string) => settings[name] ?? tomlVar(name);
const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", XDG_CONFIG_HOME: ".wrangler-config" };

function run(command: string, commandArgs: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, { env: wranglerEnv, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

function portInUse(portNumber: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port: portNumber });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

async function migrate(): Promise<void> {
  const persistTo = flag("--persist-to");
  const result = await run("wrangler", ["d1", "migrations", "apply", "DB", "--local", ...(persistTo ? ["--persist-to", persistTo] : [])]);
  if (result.code !== 0) {
    process.stderr.write(result.output);
    throw new Error("migrating the local D1 failed (output above)");
  }
  const applied = (result.output.match(/commands executed successfully/g) ?? []).length;
  say(applied === 0 ? "local D1 up to date" : `local D1 migrated (${applied} migration${applied === 1 ? "" : "s"} applied)`);
}

async function startFake(): Promise<{ close(): Promise<void> } | undefined> {
  const base = setting("MARKETPLACE_API_BASE") ?? "";
  const loopback = /^http:\/\/(127\.0\.0\.1|localhost)(?::(\d+))?\/?$/.exec(base);
  if (!loopback) {
    say(`Marketplace open API: ${base} (real calls leave this machine: set MARKETPLACE_API_BASE in ${envFile} to stay local)`);
    return undefined;
  }
  if (process.env.DEV_FAKES === "0") {
    say(`Marketplace open API: ${base} (DEV_FAKES=0: yours)`);
    return undefined;
  }
  const fakePort = Number(loopback[2] ?? "80");
  if (await portInUse(fakePort)) {
    say(`Marketplace open API: ${base} (already served; not starting the fake)`);
    return undefined;
  }
  const ak = settings.MARKETPLACE_AK;
  const sk = settings.MARKETPLACE_SK;
  const fake = await startFakeMarketplace({
    port: fakePort,
    credentials: ak && sk ? { [ak]: sk } : undefined,
    usagePushKey: settings.USAGE_PUSH_KEY || settings.SAAS_ACCESS_KEY,
    // Any order id is a one-month order, so `npm run simulate -- --real` purchases provision order-first.
    anyOrder: true,
    unref: true,
  });
  say(`fake Marketplace open API at ${fake.url} (DEV_FAKES=0 to bring your own)`);
  return fake;
}

function relay(stream: NodeJS.ReadableStream, to: NodeJS.WriteStream): void {
  // wrangler's own line per request repeats the gateway's JSON line; blank lines only spread the console out.
  const noise = /^(\s*|\[wrangler:info\] (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \S+ \d{3}\b.*)$/;
  createInterface({ input: stream }).on("line", (line) => {
    if (!noise.test(line)) to.write(`${line}\n`);
  });
}

async function waitReady(deadlineMs: number): Promise<boolean> {
  while (Date.now() < deadlineMs) {
    try {
      await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(2000) });
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  return false;
}

async function reportSettings(): Promise<void> {
  const token = settings.ADMIN_TOKEN;
  if (!token) {
    say(`ADMIN_TOKEN is not set in ${envFile}: the admin API and page are closed, and settings cannot be checked here`);
    return;
  }
  try {
    const response = await fetch(`${origin}/admin/api/health`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
    if (!response.ok) {
      say(`admin health answered ${response.status}: check ADMIN_TOKEN in ${envFile}`);
      return;
    }
    const health = (await response.json()) as { settings?: unknown; sso?: unknown };
    if (health.settings === "ok") say(`settings ok; admin page ${origin}/admin`);
    else say(`SETTINGS BROKEN (fix ${envFile}, then restart): ${JSON.stringify(health.settings)}`);
    // Single sign-on is optional: off is normal, broken disables sign-in only.
    if (health.sso === "on") say(`single sign-on on: issuer ${setting("PUBLIC_URL") ?? ""}/oidc`);
    else if (health.sso !== undefined && health.sso !== "off") say(`SINGLE SIGN-ON BROKEN (fix ${envFile}, then restart): ${JSON.stringify(health.sso)}`);
  } catch (error) {
    say(`admin health did not answer: ${String(error)}`);
  }
}

function driveCrons(): () => void {
  const crons = cronsOfWranglerToml(toml);
  if (process.env.DEV_CRONS === "0" || crons.length === 0) {
    say(`crons not driven${process.env.DEV_CRONS === "0" ? " (DEV_CRONS=0)" : ""}: curl '${origin}/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*' runs one`);
    return () => {};
  }
  const timers = new Set<NodeJS.Timeout>();
  const schedule = (cron: string) => {
    const due = nextRun(parseCron(cron), Date.now());
    const timer = setTimeout(async () => {
      timers.delete(timer);
      schedule(cron);
      try {
        const response = await fetch(`${origin}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}`, { signal: AbortSignal.timeout(120_000) });
        if (!response.ok) say(`cron "${cron}" answered ${response.status}`);
      } catch (error) {
        say(`cron "${cron}" could not run: ${String(error)}`);
      }
    }, due - Date.now());
    timers.add(timer);
  };
  crons.forEach(schedule);
  say(`crons run on their schedule (UTC): ${crons.join(", ")} (DEV_CRONS=0 to turn off)`);
  return () => timers.forEach(clearTimeout);
}

async function main(): Promise<void> {
  await migrate();
  const fake = await startFake();
  const wrangler = spawn(
    "wrangler",
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--test-scheduled", "--show-interactive-dev-session=false", ...args],
    { env: wranglerEnv, stdio: ["inherit", "pipe", "pipe"] },
  );
  relay(wrangler.stdout, process.stdout);
  relay(wrangler.stderr, process.stderr);
  let stopCrons = () => {};
  const stop = (signal: NodeJS.Signals) => {
    stopCrons();
    wrangler.kill(signal);
    setTimeout(() => wrangler.kill("SIGKILL"), 5000).unref();
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  wrangler.on("exit", (code, signal) => {
    stopCrons();
    void (fake?.close() ?? Promise.resolve()).finally(() => process.exit(code ?? (signal ? 0 : 1)));
  });
  if (!(await waitReady(Date.now() + 120_000))) {
    say(`the Worker did not answer at ${origin} within 120 s`);
    return;
  }
  await reportSettings();
  stopCrons = driveCrons();
}

main().catch((error: unknown) => {
  console.error(`[dev] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
