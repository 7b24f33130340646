// Throughput and latency of signed V2 newInstance calls against `wrangler dev`, as ratios to a bare Worker, plus the
// D1 statements and round trips one fresh newInstance costs. Run with `npm run bench:lifecycle`.
// Every process here listens on 127.0.0.1 only and every load run is bounded in time.
import { spawn, execFileSync } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

const DURATION = process.env.BENCH_DURATION ?? "10s";
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const REQUESTS_PER_RUN = Number(process.env.BENCH_REQUESTS ?? 40000);
const GATEWAY_PORT = 8797;
const BARE_PORT = 8798;
const FAKE_PORT = 8796;
const KEY = "bench-saas-access-key";
const STATE = ".wrangler/bench-state";
const OUT = "bench/results";
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", XDG_CONFIG_HOME: ".wrangler-config" };

// Signed as the Marketplace signs: HMAC over the raw body, then over key + nonce + timestamp + body MAC.
function sign(body, timestamp, nonce) {
  const bodyMac = createHmac("sha256", KEY).update(body).digest("hex");
  return createHmac("sha256", KEY).update(KEY + nonce + timestamp + bodyMac).digest("hex").toUpperCase();
}

function signedLine(body) {
  const timestamp = String(Date.now());
  const nonce = randomUUID().replaceAll("-", "");
  return `/saas?signature=${sign(body, timestamp, nonce)}&timestamp=${timestamp}&nonce=${nonce}\t${body}`;
}

function freshOrderBody() {
  const orderId = `CSB${randomUUID().replaceAll("-", "").slice(0, 20).toUpperCase()}`;
  return JSON.stringify({ activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: randomUUID() });
}

function writeRequests(name, makeBody) {
  const lines = [];
  for (let i = 0; i < REQUESTS_PER_RUN; i++) lines.push(signedLine(makeBody()));
  // Outside the project: wrangler dev watches the project tree and would rebuild the Worker mid-run.
  const file = `${tmpdir()}/koogallery-bench-${name}.txt`;
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

let inspectorPort = 9330;
// wrangler writes straight into a file: a pipe that this process (blocked in wrk) stopped reading would stall the
// Worker's logging and with it the requests being measured.
function startWrangler(args, logFile) {
  inspectorPort += 1;
  const fd = openSync(logFile, "w");
  // Secrets from the committed example, so a fresh clone benchmarks without a .dev.vars.
  const child = spawn("npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--inspector-port", String(inspectorPort), "--env-file", ".dev.vars.example", "--show-interactive-dev-session=false", ...args], {
    env,
    detached: true,
    stdio: ["ignore", fd, fd],
  });
  let stopped = false;
  return {
    output: () => readFileSync(logFile, "utf8"),
    stop: () => {
      if (stopped) return;
      stopped = true;
      try {
        process.kill(-child.pid, "SIGINT");
      } catch {}
    },
  };
}

async function waitReady(port) {
  for (let i = 0; i < 120; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/healthz`);
      return;
    } catch {
      await sleep(500);
    }
  }
  throw new Error(`nothing listening on ${port}`);
}

function runWrk(port, script, args = []) {
  const out = execFileSync("wrk", ["-t2", `-c${CONNECTIONS}`, `-d${DURATION}`, "--latency", "-s", script, `http://127.0.0.1:${port}`, ...(args.length ? ["--", ...args] : [])], {
    encoding: "utf8",
  });
  if (process.env.BENCH_VERBOSE) console.log(out);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const toMs = (text) => {
    const [, value, unit] = /([\d.]+)(us|ms|s)/.exec(text) ?? [];
    return Number(value) * (unit === "us" ? 0.001 : unit === "s" ? 1000 : 1);
  };
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? "");
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? "");
  const notOk = Number(/NOT_OK (\d+)/.exec(out)?.[1] ?? 0);
  const exhausted = Number(/EXHAUSTED (\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? "0";
  return { rps, p50, p99, notOk, exhausted, errors: Number(errors) };
}

async function countStatements() {
  // Query order answers at once (the fake), so each fresh purchase is provisioned inside its call: every logged round
  // trip in the window belongs to the answers (no webhook is set, so no delivery reads the outbox afterwards).
  const dev = startWrangler(
    ["--port", String(GATEWAY_PORT + 2), "--persist-to", STATE, "--var", `SAAS_ACCESS_KEY:${KEY}`, "--var", "D1_QUERY_LOG:true", "--var", `MARKETPLACE_API_BASE:http://127.0.0.1:${FAKE_PORT}`],
    `${OUT}/statements-dev.log`,
  );
  try {
    await waitReady(GATEWAY_PORT + 2);
    const calls = 20;
    const beforeText = dev.output();
    for (let i = 0; i < calls; i++) {
      const [pathAndQuery, body] = signedLine(freshOrderBody()).split("\t");
      const res = await fetch(`http://127.0.0.1:${GATEWAY_PORT + 2}${pathAndQuery}`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
      const json = await res.json();
      if (json.resultCode !== "000000") throw new Error(`unexpected answer ${JSON.stringify(json)}`);
    }
    await sleep(200);
    const lines = dev.output().slice(beforeText.length).match(/"event":"d1\.roundtrip","statements":(\d+)/g) ?? [];
    const statements = lines.reduce((sum, line) => sum + Number(/(\d+)$/.exec(line)?.[1] ?? 0), 0);
    return { calls, roundTrips: lines.length / calls, statements: statements / calls };
  } finally {
    dev.stop();
  }
}

async function main() {
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  execFileSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE], { env, stdio: "ignore" });

  const bare = startWrangler(["--config", "bench/bare-worker/wrangler.toml", "--port", String(BARE_PORT)], `${OUT}/bare-dev.log`);
  // Every real purchase asks query order first (order first): the local fake Marketplace answers any order id at
  // once with a yearly order, so a fresh newInstance costs one signed call more than a repeat, as with the real one.
  const fake = spawn("npx", ["node", "tools/fake-marketplace/fake-marketplace.ts", "--port", String(FAKE_PORT), "--any-order"], { env, detached: true, stdio: "ignore" });
  const gateway = startWrangler(
    ["--port", String(GATEWAY_PORT), "--persist-to", STATE, "--var", `SAAS_ACCESS_KEY:${KEY}`, "--var", `MARKETPLACE_API_BASE:http://127.0.0.1:${FAKE_PORT}`],
    `${OUT}/gateway-dev.log`,
  );
  try {
    await Promise.all([waitReady(BARE_PORT), waitReady(GATEWAY_PORT)]);
    // Warm both: first requests compile and open the local databases.
    runWrk(BARE_PORT, "bench/bare.lua");

    const baseline = runWrk(BARE_PORT, "bench/bare.lua");
    const freshFile = writeRequests("fresh", freshOrderBody);
    const fresh = runWrk(GATEWAY_PORT, "bench/requests.lua", [freshFile, "2"]);
    const repeatedBody = freshOrderBody();
    const repeatFile = writeRequests("repeat", () => repeatedBody);
    const repeats = runWrk(GATEWAY_PORT, "bench/requests.lua", [repeatFile, "2"]);
    bare.stop();
    gateway.stop();

    const statements = await countStatements();
    const row = (name, r) =>
      `${name.padEnd(22)} ${r.rps.toFixed(0).padStart(7)} req/s  ${(r.rps / baseline.rps).toFixed(2).padStart(5)}x   p50 ${r.p50.toFixed(1).padStart(6)} ms   p99 ${r.p99.toFixed(1).padStart(6)} ms${r.notOk !== undefined ? `   not-000000: ${r.notOk}` : ""}${r.exhausted ? `   REUSED REQUESTS: ${r.exhausted}` : ""}`;
    console.log(`\nwrk -t2 -c${CONNECTIONS} -d${DURATION} against wrangler dev on 127.0.0.1 (${new Date().toISOString()})`);
    console.log(row("bare Worker", { ...baseline, notOk: undefined }));
    console.log(row("newInstance, fresh", fresh));
    console.log(row("newInstance, repeat", repeats));
    console.log(`aims: fresh >= 0.40x, repeats >= 0.70x, p99 < 100 ms`);
    console.log(`D1 per fresh newInstance: ${statements.statements.toFixed(2)} statements in ${statements.roundTrips.toFixed(2)} round trips (aim: <= 4 in <= 2)`);
  } finally {
    bare.stop();
    gateway.stop();
    try {
      process.kill(-fake.pid, "SIGINT");
    } catch {}
  }
}

await main();
