// Throughput and latency of signed V2 newInstance calls against `wrangler dev`, as ratios to a bare Worker, plus the
// D1 statements and round trips one fresh newInstance costs. Run with `npm run bench:lifecycle`.
// Every process here listens on 127.0.0.1 only and every load run is bounded in time.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, openSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { benchEnv, freshOrderBody, signedRequestLine, waitReady, writeRequestFile } from "./support.mjs";

const DURATION = process.env.BENCH_DURATION ?? "10s";
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const REQUESTS_PER_RUN = Number(process.env.BENCH_REQUESTS ?? 40000);
// Rounds of the interleaved sequence; figures are the median of the rounds' (single runs here vary by ±0.3x).
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const GATEWAY_PORT = 8797;
const BARE_PORT = 8798;
const FAKE_PORT = 8796;
const KEY = "bench-saas-access-key";
const STATE = ".wrangler/bench-state";
const BARE_STATE = ".wrangler/bench-floor-state";
const COUNT_STATE = ".wrangler/bench-count-state";
const OUT = "bench/results";
const env = benchEnv;


const signedLine = (body) => signedRequestLine(KEY, body);
const writeRequests = (name, makeBody) => writeRequestFile(name, KEY, REQUESTS_PER_RUN, makeBody);

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
    // Its own process group (detached): wrangler, its two workerd processes and esbuild.
    group: child.pid,
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


/**
 * CPU seconds used so far by every process in these process groups (Linux /proc; utime + stime of live processes, in
 * clock ticks of 1/100 s). Read around each run, it gives the server side's CPU per request, a steadier figure than
 * req/s on a machine that others share.
 */
function groupCpuSeconds(groups) {
  let ticks = 0;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;
    }
    // Fields after the command name, which may contain spaces: state ppid pgrp … utime(12) stime(13).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (groups.includes(Number(fields[2]))) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

// The process groups whose CPU each port's runs are charged: the floor worker's, or the gateway's and the fake
// Marketplace's (a fresh create's query order is part of its cost). Set once the processes are started.
const cpuGroups = new Map();

function runWrk(port, script, args = [], path = "") {
  const groups = cpuGroups.get(port) ?? [];
  const cpuBefore = groupCpuSeconds(groups);
  const out = execFileSync("wrk", ["-t2", `-c${CONNECTIONS}`, `-d${DURATION}`, "--latency", "-s", script, `http://127.0.0.1:${port}${path}`, ...(args.length ? ["--", ...args] : [])], {
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
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const cpuMs = requests > 0 ? ((groupCpuSeconds(groups) - cpuBefore) * 1000) / requests : Number.NaN;
  return { rps, p50, p99, notOk, exhausted, errors: Number(errors), cpuMs };
}

async function countStatements() {
  // Query order answers at once (the fake), so each fresh purchase is provisioned inside its call: every logged round
  // trip in the window belongs to the answers (no webhook is set, so no delivery reads the outbox afterwards). Its own
  // database: the load runs leave purchases whose order fetches are still being retried.
  rmSync(COUNT_STATE, { recursive: true, force: true });
  execFileSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", COUNT_STATE], { env, stdio: "ignore" });
  const port = GATEWAY_PORT + 2;
  const dev = startWrangler(
    ["--port", String(port), "--persist-to", COUNT_STATE, "--var", `SAAS_ACCESS_KEY:${KEY}`, "--var", "D1_QUERY_LOG:true", "--var", `MARKETPLACE_API_BASE:http://127.0.0.1:${FAKE_PORT}`],
    `${OUT}/statements-dev.log`,
  );
  const calls = 20;
  // Statements and round trips per call of `makeBody`, each call checked to answer 000000.
  const measure = async (makeBody) => {
    const beforeText = dev.output();
    for (let i = 0; i < calls; i++) {
      const json = await signedAnswer(port, makeBody(i));
      if (json.resultCode !== "000000") throw new Error(`unexpected answer ${JSON.stringify(json)}`);
    }
    await sleep(300);
    const lines = dev.output().slice(beforeText.length).match(/"event":"d1\.roundtrip","statements":(\d+)/g) ?? [];
    const statements = lines.reduce((sum, line) => sum + Number(/(\d+)$/.exec(line)?.[1] ?? 0), 0);
    return { roundTrips: lines.length / calls, statements: statements / calls };
  };
  try {
    await waitReady(`http://127.0.0.1:${port}/healthz`);
    const repeated = freshOrderBody();
    const first = await signedAnswer(port, repeated);
    const query = JSON.stringify({ activity: "queryInstance", instanceId: first.instanceId });
    await signedAnswer(port, query);
    return { fresh: await measure(freshOrderBody), repeat: await measure(() => repeated), query: await measure(() => query) };
  } finally {
    dev.stop();
  }
}

async function signedAnswer(port, body) {
  const [pathAndQuery, text] = signedLine(body).split("\t");
  const res = await fetch(`http://127.0.0.1:${port}${pathAndQuery}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: text });
  return res.json();
}

function control(path, body) {
  return fetch(`http://127.0.0.1:${FAKE_PORT}/__control/${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

async function main() {
  rmSync(STATE, { recursive: true, force: true });
  rmSync(BARE_STATE, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  execFileSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE], { env, stdio: "ignore" });
  execFileSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", BARE_STATE, "--config", "bench/bare-worker/wrangler.toml"], { env, stdio: "ignore" });

  const bare = startWrangler(
    ["--config", "bench/bare-worker/wrangler.toml", "--port", String(BARE_PORT), "--persist-to", BARE_STATE, "--var", `MARKETPLACE_API_BASE:http://127.0.0.1:${FAKE_PORT}`],
    `${OUT}/bare-dev.log`,
  );
  // Every real purchase asks query order first (order first): the local fake Marketplace answers any order id at
  // once with a yearly order, so a fresh newInstance costs one signed call more than a repeat, as with the real one.
  const fake = spawn("npx", ["node", "tools/fake-marketplace/fake-marketplace.ts", "--port", String(FAKE_PORT), "--any-order"], { env, detached: true, stdio: "ignore" });
  const gateway = startWrangler(
    ["--port", String(GATEWAY_PORT), "--persist-to", STATE, "--var", `SAAS_ACCESS_KEY:${KEY}`, "--var", `MARKETPLACE_API_BASE:http://127.0.0.1:${FAKE_PORT}`],
    `${OUT}/gateway-dev.log`,
  );
  // The fake is charged to the floors too: floor-create + call makes its one GET there.
  cpuGroups.set(BARE_PORT, [bare.group, fake.pid]);
  cpuGroups.set(GATEWAY_PORT, [gateway.group, fake.pid]);
  try {
    await Promise.all([waitReady(`http://127.0.0.1:${BARE_PORT}/healthz`), waitReady(`http://127.0.0.1:${GATEWAY_PORT}/healthz`)]);
    // Warm everything up: first requests compile and open the local databases.
    runWrk(BARE_PORT, "bench/bare.lua");
    runWrk(BARE_PORT, "bench/bare.lua", [], "/floor-create");
    const created = await signedAnswer(GATEWAY_PORT, freshOrderBody());
    if (created.resultCode !== "000000" || !created.instanceId) throw new Error(`unexpected answer ${JSON.stringify(created)}`);

    // Interleaved, so that whatever else the machine is doing weighs on floors and gateway alike. Each request file is
    // signed just before its run: the gateway refuses timestamps older than 60 s. Every floor also runs with the
    // design's one log line per request (`?log`): under wrangler dev that line alone costs more than a floor-repeat.
    const repeatedBody = freshOrderBody();
    const queryBody = JSON.stringify({ activity: "queryInstance", instanceId: created.instanceId });
    const rounds = [];
    for (let round = 0; round < ROUNDS; round++) {
      const r = {};
      r.bare1 = runWrk(BARE_PORT, "bench/bare.lua");
      r.floorCreate = runWrk(BARE_PORT, "bench/bare.lua", [], "/floor-create");
      r.floorCreateLog = runWrk(BARE_PORT, "bench/bare.lua", [], "/floor-create?log");
      r.floorCreateCallLog = runWrk(BARE_PORT, "bench/bare.lua", [], "/floor-create?call&log");
      r.fresh = runWrk(GATEWAY_PORT, "bench/requests.lua", [writeRequests("fresh", freshOrderBody), "2"]);
      r.floorRepeat = runWrk(BARE_PORT, "bench/bare.lua", [], "/floor-repeat");
      r.floorRepeatLog = runWrk(BARE_PORT, "bench/bare.lua", [], "/floor-repeat?log");
      r.repeats = runWrk(GATEWAY_PORT, "bench/requests.lua", [writeRequests("repeat", () => repeatedBody), "2"]);
      r.bareLog = runWrk(BARE_PORT, "bench/bare.lua", [], "/?log");
      r.bare2 = runWrk(BARE_PORT, "bench/bare.lua");
      r.query = runWrk(GATEWAY_PORT, "bench/requests.lua", [writeRequests("query", () => queryBody), "2"]);
      r.load = loadavg()[0];
      r.bare = { ...r.bare1, rps: (r.bare1.rps + r.bare2.rps) / 2, p50: Math.max(r.bare1.p50, r.bare2.p50), p99: Math.max(r.bare1.p99, r.bare2.p99) };
      rounds.push(r);
    }
    // Query order hangs from here on: every fresh purchase waits ORDER_FIRST_TIMEOUT_MS, then answers 000004.
    await control("fail", { mode: "timeout", api: "order", count: 1_000_000 });
    const hanging = runWrk(GATEWAY_PORT, "bench/requests.lua", [writeRequests("hang", freshOrderBody), "2"]);
    await control("fail", { mode: "reset" });
    bare.stop();
    gateway.stop();

    const statements = await countStatements();
    const median = (values) => {
      const sorted = [...values].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    // Per measure: median req/s and latencies, and the median of the per-round ratios to its floors.
    const of = (name) => ({
      rps: median(rounds.map((r) => r[name].rps)),
      p50: median(rounds.map((r) => r[name].p50)),
      p99: median(rounds.map((r) => r[name].p99)),
      cpuMs: median(rounds.map((r) => r[name].cpuMs)),
      notOk: rounds.reduce((sum, r) => sum + (r[name].notOk ?? 0), 0),
      exhausted: rounds.reduce((sum, r) => sum + (r[name].exhausted ?? 0), 0),
    });
    const ratio = (name, base) => {
      const values = rounds.map((r) => r[name].rps / r[base].rps);
      const spread = values.length > 1 ? ` (rounds ${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)})` : "";
      return `${median(values).toFixed(2).padStart(5)}x ${base}${spread}`;
    };
    const row = (name, key, bases = [], gateway = false) => {
      const r = of(key);
      const ratios = bases.map((base) => ratio(key, base)).join(", ");
      return `${name.padEnd(22)} ${r.rps.toFixed(0).padStart(6)} req/s   p50 ${r.p50.toFixed(1).padStart(7)} ms   p99 ${r.p99.toFixed(1).padStart(7)} ms   cpu ${r.cpuMs.toFixed(2).padStart(5)} ms/req   ${ratios}${gateway ? `   not-000000: ${r.notOk}` : ""}${r.exhausted ? `   REUSED REQUESTS: ${r.exhausted}` : ""}`;
    };
    console.log(`\nwrk -t2 -c${CONNECTIONS} -d${DURATION} against wrangler dev on 127.0.0.1, ${ROUNDS} round(s), medians (${new Date().toISOString()}; load average ${loadavg().map((l) => l.toFixed(1)).join(" ")})`);
    console.log(row("bare Worker", "bare"));
    console.log(row("bare + log line", "bareLog", ["bare"]));
    console.log(row("floor-create", "floorCreate", ["bare"]));
    console.log(row("floor-create + log", "floorCreateLog", ["floorCreate"]));
    console.log(row("floor-create+call+log", "floorCreateCallLog", ["floorCreateLog"]));
    console.log(row("floor-repeat", "floorRepeat", ["bare"]));
    console.log(row("floor-repeat + log", "floorRepeatLog", ["floorRepeat"]));
    console.log(row("newInstance, fresh", "fresh", ["floorCreate", "floorCreateLog", "floorCreateCallLog"], true));
    console.log(row("newInstance, repeat", "repeats", ["floorRepeat", "floorRepeatLog"], true));
    console.log(row("queryInstance", "query", ["bare", "bareLog"], true));
    const hang = hanging;
    console.log(`${"fresh, order hangs".padEnd(22)} ${hang.rps.toFixed(0).padStart(6)} req/s   p50 ${hang.p50.toFixed(1).padStart(7)} ms   p99 ${hang.p99.toFixed(1).padStart(7)} ms   answered 000004: ${hang.notOk}`);
    console.log("cpu: server-side CPU per request (the floor worker's or the gateway's processes, with the fake Marketplace's), from /proc");
    const check = (label, value, aim, met) => `${label} ${value} (aim ${aim}) ${met ? "met" : "MISSED"}`;
    const ratioOf = (name, base) => median(rounds.map((r) => r[name].rps / r[base].rps));
    const fresh = ratioOf("fresh", "floorCreateCallLog");
    const repeat = ratioOf("repeats", "floorRepeatLog");
    const query = ratioOf("query", "bareLog");
    const freshP99 = of("fresh").p99;
    console.log(`load average (1 min) at the end of each round: ${rounds.map((r) => r.load.toFixed(1)).join(", ")}`);
    console.log("aims (issue 24, medians of the rounds' ratios):");
    console.log(`  ${check("fresh newInstance / floor-create+call+log", `${fresh.toFixed(2)}x`, ">= 0.75x", fresh >= 0.75)}`);
    console.log(`  ${check("repeat / floor-repeat+log", `${repeat.toFixed(2)}x`, ">= 0.85x", repeat >= 0.85)}`);
    console.log(`  ${check("queryInstance / bare+log", `${query.toFixed(2)}x`, ">= 0.75x", query >= 0.75)}`);
    console.log(`  ${check("p99 fresh", `${freshP99.toFixed(0)} ms`, "< 500 ms", freshP99 < 500)}`);
    console.log(`  ${check("p99 fresh, query order hanging", `${hang.p99.toFixed(0)} ms`, "< 3000 ms, every answer 000004", hang.p99 < 3000)}`);
    const cpu = (name) => of(name).cpuMs;
    console.log(`CPU per request above its floor (medians): fresh ${(cpu("fresh") - cpu("floorCreateCallLog")).toFixed(2)} ms over floor-create+call+log, repeat ${(cpu("repeats") - cpu("floorRepeatLog")).toFixed(2)} ms over floor-repeat+log, query ${(cpu("query") - cpu("bareLog")).toFixed(2)} ms over bare+log`);
    console.log("the '+ log' floors add the design's one JSON log line per request; under wrangler dev it is relayed through the inspector to wrangler's process, which production does not do");
    const d1 = (r) => `${r.statements.toFixed(2)} statements in ${r.roundTrips.toFixed(2)} round trips`;
    console.log(`D1 per call: fresh newInstance ${d1(statements.fresh)} (aim: <= 4 in <= 2); repeat ${d1(statements.repeat)}; queryInstance ${d1(statements.query)}`);
  } finally {
    bare.stop();
    gateway.stop();
    try {
      process.kill(-fake.pid, "SIGINT");
    } catch {}
  }
}

await main();
