// Where a fresh signed newInstance spends its CPU: a sampling profile of the gateway's isolate (workerd's inspector,
// through wrangler dev's inspector port) while wrk sends fresh purchases, summed per source module of the bundle and
// per named part. Run with `npm run bench:profile` (knobs: BENCH_DURATION, BENCH_CONNECTIONS, BENCH_PROFILE_ACTIVITY
// = fresh | repeat | query, or floor-create to profile the floor worker's /floor-create?call&log the same way).
// Every process listens on 127.0.0.1 only and the load run is bounded in time.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { benchEnv, freshOrderBody, signedRequestLine, waitReady, writeRequestFile } from "./support.mjs";

const DURATION = process.env.BENCH_DURATION ?? "10s";
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const ACTIVITY = process.env.BENCH_PROFILE_ACTIVITY ?? "fresh";
const PORT = 8791;
const INSPECTOR_PORT = 9391;
const FAKE_PORT = 8790;
const KEY = "bench-saas-access-key";
const STATE = ".wrangler/bench-profile-state";
const FLOOR = ACTIVITY === "floor-create";
const OUT = "bench/results";
const env = benchEnv;

/**
 * The parts a fresh create pays for, each the functions (by name, as esbuild keeps them) whose inclusive time is
 * its cost. A sample counts once per part even when the part recurses or nests in another.
 */
const PARTS = [
  ["V2 signature check (dialect)", /^(verifyV2Signature|v2Signature|checkV2Signature|verifySignature)$/],
  ["zod parsing (any schema)", /^(safeParse|parse|_parse|run|_zod\.run|\$ZodType|parseAsync|safeParseAsync)$/],
  ["AK/SK signer (query order)", /^signAkSk$/],
  ["query order call (incl. signer, fetch, parse)", /^queryOrder$/],
  ["order snapshot sealing", /^sealOrderSnapshot$/],
  ["audit MAC", /^hashAuditLink$/],
  ["canonical JSON", /^canonicalJson$/],
  ["drizzle statement building", /^(buildInsertQuery|buildSelectQuery|buildUpdateQuery|sqlToQuery|buildQueryFromSourceParams|toSQL|getSQL|prepareQuery)$/],
  ["D1 batch call (JS side)", /^(batch|_batch)$/],
  ["request log line", /^(logRequest|writeLog|log)$/],
  ["JSON.stringify/parse in JS", /^(stringify|parse)$/],
];

function startWrangler(args, logFile) {
  const fd = openSync(logFile, "w");
  const child = spawn("npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--inspector-port", String(INSPECTOR_PORT), "--env-file", ".dev.vars.example", "--show-interactive-dev-session=false", ...args], {
    env,
    detached: true,
    stdio: ["ignore", fd, fd],
  });
  return { stop: () => { try { process.kill(-child.pid, "SIGINT"); } catch {} } };
}

async function signedAnswer(body) {
  const [pathAndQuery, text] = signedRequestLine(KEY, body).split("\t");
  const res = await fetch(`http://127.0.0.1:${PORT}${pathAndQuery}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: text });
  return res.json();
}

/** A minimal Chrome DevTools Protocol client over the inspector's WebSocket. */
async function inspector() {
  const targets = await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
  // wrangler's inspector proxy refuses an upgrade without an Origin.
  const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: "http://localhost" } });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", reject, { once: true });
  });
  // The proxy renumbers message ids and answers commands of its own on the same socket, so one command at a time,
  // answered by the next message with an id that `accepts` (Profiler.stop: the one that carries the profile).
  let id = 0;
  let waiting = null;
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    if (message.id !== undefined && waiting && (message.error || waiting.accepts(message.result ?? {}))) {
      const settle = waiting.settle;
      waiting = null;
      settle(message);
    }
  });
  return {
    send: (method, params = {}, accepts = () => true) =>
      new Promise((resolve, reject) => {
        id += 1;
        waiting = { accepts, settle: (message) => (message.error ? reject(new Error(`${method}: ${JSON.stringify(message.error)}`)) : resolve(message.result)) };
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** The bundle wrangler dev runs: esbuild marks each module's code with a `// path` comment line. */
function moduleIndex(url) {
  const candidates = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = `${dir}/${name}`;
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".js") && url.endsWith(name)) candidates.push(path);
    }
  };
  walk(".wrangler/tmp");
  candidates.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  const file = candidates[0];
  if (!file) return () => url;
  const starts = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, index) => {
      const match = /^\/\/ ((?:src|node_modules|\.\.\/)[^\s]*)$/.exec(line);
      if (match) starts.push([index, match[1].replace(/^.*node_modules\//, "node_modules/")]);
    });
  return (lineNumber) => {
    let found = "(bundle prologue)";
    for (const [start, name] of starts) {
      if (start > lineNumber) break;
      found = name;
    }
    return found;
  };
}

function summarise(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const indexes = new Map();
  const moduleOf = (frame) => {
    if (!frame.url) return frame.functionName || "(native)";
    if (!indexes.has(frame.url)) indexes.set(frame.url, moduleIndex(frame.url));
    return indexes.get(frame.url)(frame.lineNumber);
  };
  const self = new Map();
  const inclusive = new Map();
  const parts = new Map();
  const selfFunctions = new Map();
  const add = (map, key, ms) => map.set(key, (map.get(key) ?? 0) + ms);
  let total = 0;
  let busy = 0;
  profile.samples.forEach((sampleId, index) => {
    const ms = (profile.timeDeltas[index + 1] ?? profile.timeDeltas[index] ?? 0) / 1000;
    total += ms;
    const leaf = byId.get(sampleId);
    const leafName = leaf.callFrame.functionName;
    if (leafName === "(idle)") return;
    busy += ms;
    add(self, `${moduleOf(leaf.callFrame)}`, ms);
    add(selfFunctions, `${leafName || "(anonymous)"} ${moduleOf(leaf.callFrame)}:${leaf.callFrame.lineNumber + 1} (bundle line)`, ms);
    const modules = new Set();
    const hit = new Set();
    for (let node = leaf; node; node = byId.get(parent.get(node.id))) {
      modules.add(moduleOf(node.callFrame));
      for (const [label, pattern] of PARTS) if (pattern.test(node.callFrame.functionName)) hit.add(label);
    }
    for (const name of modules) add(inclusive, name, ms);
    for (const label of hit) add(parts, label, ms);
  });
  return { total, busy, self, inclusive, parts, selfFunctions };
}

async function main() {
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const config = FLOOR ? ["--config", "bench/bare-worker/wrangler.toml"] : [];
  execFileSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE, ...config], { env, stdio: "ignore" });
  const fake = spawn("npx", ["node", "tools/fake-marketplace/fake-marketplace.ts", "--port", String(FAKE_PORT), "--any-order"], { env, detached: true, stdio: "ignore" });
  const gateway = startWrangler(
    [...config, "--port", String(PORT), "--persist-to", STATE, "--var", `SAAS_ACCESS_KEY:${KEY}`, "--var", `MARKETPLACE_API_BASE:http://127.0.0.1:${FAKE_PORT}`],
    `${OUT}/profile-dev.log`,
  );
  try {
    await waitReady(`http://127.0.0.1:${PORT}/healthz`);
    const load = FLOOR ? await floorLoad() : await gatewayLoad();
    const cdp = await inspector();
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
    await cdp.send("Profiler.start");
    const out = execFileSync("wrk", ["-t2", `-c${CONNECTIONS}`, `-d${DURATION}`, ...load], { encoding: "utf8" });
    const { profile } = await cdp.send("Profiler.stop", {}, (result) => result.profile !== undefined);
    cdp.close();
    report(profile, out);
  } finally {
    gateway.stop();
    try {
      process.kill(-fake.pid, "SIGINT");
    } catch {}
  }
}

/** wrk's arguments for the floor: the same request as bench/lifecycle's floor-create+call+log, warmed up first. */
async function floorLoad() {
  for (let i = 0; i < 50; i++) await fetch(`http://127.0.0.1:${PORT}/floor-create?call&log`, { method: "POST", body: "{}" });
  return ["-s", "bench/bare.lua", `http://127.0.0.1:${PORT}/floor-create?call&log`];
}

/** wrk's arguments for the gateway: pre-signed calls of ACTIVITY, after 50 fresh creates to warm it up. */
async function gatewayLoad() {
    const created = await signedAnswer(freshOrderBody());
    if (created.resultCode !== "000000") throw new Error(`unexpected answer ${JSON.stringify(created)}`);
    for (let i = 0; i < 50; i++) await signedAnswer(freshOrderBody());
    const repeated = freshOrderBody();
    await signedAnswer(repeated);
    const query = JSON.stringify({ activity: "queryInstance", instanceId: created.instanceId });
    const makeBody = ACTIVITY === "repeat" ? () => repeated : ACTIVITY === "query" ? () => query : freshOrderBody;
    const file = writeRequestFile(`profile-${ACTIVITY}`, KEY, 20000, makeBody);
    return ["-s", "bench/requests.lua", `http://127.0.0.1:${PORT}`, "--", file, "2"];
}

function report(profile, out) {
    const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
    const notOk = Number(/NOT_OK (\d+)/.exec(out)?.[1] ?? 0);
    const { total, busy, self, inclusive, parts, selfFunctions } = summarise(profile);
    const per = (ms) => `${(ms / requests).toFixed(3).padStart(7)} ms/req  ${((100 * ms) / busy).toFixed(1).padStart(5)} %`;
    const top = (map, n) =>
      [...map.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([name, ms]) => `  ${per(ms)}  ${name}`)
        .join("\n");
    console.log(`\nprofile of ${requests} ${ACTIVITY} calls (not 000000: ${notOk}), wrk -c${CONNECTIONS} -d${DURATION}, ${new Date().toISOString()}, load ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
    console.log(`JS thread of the gateway's isolate: ${(busy / requests).toFixed(2)} ms busy per request (${((100 * busy) / total).toFixed(0)} % of the ${(total / 1000).toFixed(1)} s sampled); D1, storage and I/O run outside it`);
    console.log("\nself time by module (the bundle's `// path` sections):");
    console.log(top(self, 25));
    console.log("\nself time by function:");
    console.log(top(selfFunctions, 20));
    console.log("\ninclusive time by module (a sample counts for every module on its stack):");
    console.log(top(inclusive, 30));
    console.log("\ninclusive time by part (functions named in PARTS):");
    console.log(top(parts, PARTS.length));
}

await main();
