// Roll-up and push of pay-per-use usage through `wrangler dev` and the local fake Marketplace (a separate Node
// process): records per second and D1 rows read per record, at 10,000 and 100,000 events for 5,000 instances.
// Run with `npm run bench:billing` (or `bash bench/run.sh billing`). Every process listens on 127.0.0.1 only.
//
// Per size, from an empty local database:
//   1. 5,000 pay-per-use instances are SEEDED straight into local D1 (`wrangler d1 execute --file`), not created with
//      signed newInstance calls (~30–60/s locally): this measures billing, not provisioning;
//   2. the events go in through POST /api/v1/usage, 1,000 per request, spread evenly over the instances and the two
//      closed hours before now (event i: instance i mod 5,000, hour (i div 5,000) mod 2), so there are 10,000 records
//      at either size: 1 event per record at 10k, 10 at 100k;
//   3. one run of the */5 cron (roll-up, then push) through /cdn-cgi/handler/scheduled, timed from outside; the split
//      between the two jobs comes from their job.finished log lines;
//   4. D1 rows come from the opt-in query log (D1_QUERY_LOG=true, src/db/query-log.ts): one log line per D1 round
//      trip with D1's meta.rows_read / rows_written. drizzle's typed selects go through raw(), which has no meta (in
//      the roll-up: the instance look-up by primary key); those are counted apart, with the rows they returned.
// Then the fake's records are checked against the counts (each record once). Knobs: BENCH_BILLING_EVENTS (sizes,
// default "10000,100000"), BENCH_BILLING_INSTANCES (5000), BENCH_BILLING_HOURS (2, at most 2: older hours are past
// their push deadline).
//
// Push backlog (issue 9 item 11): per size in BENCH_BILLING_BACKLOG (default "10000,100000"; empty to skip), that many
// due records of the closed hour (one per instance) are SEEDED straight into usage_records, and the */5 cron runs
// until the push job has nothing left (a run makes at most MAX_CALLS_PER_RUN = 100 calls of 1000): D1 rows read per record by the push
// job, which must stay flat as the backlog grows (the claim reads the due records in index order).
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { benchEnv, waitReady } from "./support.mjs";

const SIZES = (process.env.BENCH_BILLING_EVENTS ?? "10000,100000").split(",").filter(Boolean).map(Number);
const BACKLOGS = (process.env.BENCH_BILLING_BACKLOG ?? "10000,100000").split(",").filter(Boolean).map(Number);
const INSTANCES = Number(process.env.BENCH_BILLING_INSTANCES ?? 5000);
const HOURS = Math.min(2, Number(process.env.BENCH_BILLING_HOURS ?? 2));
const GATEWAY_PORT = 8802;
const FAKE_PORT = 8801;
const OUT = "bench/results";
const HOUR = 3_600_000;
const MINUTE = 60_000;
const env = benchEnv;

// Secrets from the committed example, as `--env-file` gives them to the Worker, so a fresh clone runs this.
const devVars = Object.fromEntries(
  readFileSync(".dev.vars.example", "utf8")
    .split("\n")
    .map((line) => /^([A-Z0-9_]+)="?(.*?)"?$/.exec(line.trim()))
    .filter(Boolean)
    .map((m) => [m[1], m[2]]),
);

let inspectorPort = 9350;
/** A process in its own group, output straight into a file (a pipe nobody reads would stall it). */
function startProcess(command, args, logFile) {
  const fd = openSync(logFile, "w");
  const child = spawn(command, args, { env, detached: true, stdio: ["ignore", fd, fd] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  let stopped = false;
  return {
    output: () => readFileSync(logFile, "utf8"),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        process.kill(-child.pid, "SIGINT");
      } catch {}
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
      }, 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function startWrangler(state, logFile) {
  inspectorPort += 1;
  return startProcess(
    "npx",
    [
      "wrangler", "dev", "--ip", "127.0.0.1", "--port", String(GATEWAY_PORT), "--inspector-port", String(inspectorPort),
      "--persist-to", state, "--env-file", ".dev.vars.example", "--test-scheduled", "--show-interactive-dev-session=false",
      "--var", "D1_QUERY_LOG:true", "--var", `MARKETPLACE_API_BASE:http://127.0.0.1:${FAKE_PORT}`,
    ],
    logFile,
  );
}


function d1(state, ...args) {
  execFileSync("npx", ["wrangler", "d1", ...args, "--local", "--persist-to", state], { env, stdio: "ignore" });
}

/** 5,000 active pay-per-use instances, created 3 hours before the first usage hour. */
function seedInstances(state, createdAt) {
  const rows = [];
  for (let i = 0; i < INSTANCES; i++) {
    const id = `bench-inst-${String(i).padStart(6, "0")}`;
    rows.push(`('${id}','bench:${id}','BENCHORDER${i}','BENCHORDER${i}-000001','bench-product','sku-bench','ON_DEMAND','active',0,1,${createdAt},${createdAt},${createdAt})`);
  }
  const statements = [];
  for (let i = 0; i < rows.length; i += 500) {
    statements.push(
      `INSERT INTO instances (id, create_key, order_id, order_line_id, product_id, sku_code, charging_mode, status, is_test, version, provisioned_at, created_at, updated_at) VALUES\n${rows.slice(i, i + 500).join(",\n")};`,
    );
  }
  // Outside the project: wrangler dev watches the project tree.
  const file = `${tmpdir()}/koogallery-bench-billing-seed.sql`;
  writeFileSync(file, `${statements.join("\n")}\n`);
  d1(state, "execute", "DB", "--file", file);
}

/** Event i: instance i mod INSTANCES, hour (i div INSTANCES) mod HOURS of the closed hours before `hour`. */
function eventBatches(count, hour) {
  const batches = [];
  let batch = [];
  for (let i = 0; i < count; i++) {
    const slot = Math.floor(i / INSTANCES) % HOURS;
    const time = hour - HOURS * HOUR + slot * HOUR + ((i * 7919) % HOUR);
    const units = 1 + ((i * 104729) % 99_999);
    batch.push({ eventId: `bench-${hour}-${i}`, instanceId: `bench-inst-${String(i % INSTANCES).padStart(6, "0")}`, quantity: `${Math.floor(units / 10000)}.${String(units % 10000).padStart(4, "0")}`, time });
    if (batch.length === 1000) {
      batches.push(batch);
      batch = [];
    }
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

async function ingest(batches) {
  let accepted = 0;
  const queue = [...batches];
  const worker = async () => {
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      const res = await fetch(`http://127.0.0.1:${GATEWAY_PORT}/api/v1/usage`, {
        method: "POST",
        headers: { Authorization: `Bearer ${devVars.SELLER_API_TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify({ events: batch }),
      });
      const json = await res.json();
      if (res.status !== 200 || json.rejected.length > 0) throw new Error(`ingest: ${res.status} ${JSON.stringify(json).slice(0, 500)}`);
      accepted += json.accepted.length;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return accepted;
}

async function scheduled(cron, time) {
  const query = `cron=${encodeURIComponent(cron)}&time=${time}`;
  for (const path of ["/cdn-cgi/handler/scheduled", "/__scheduled"]) {
    const res = await fetch(`http://127.0.0.1:${GATEWAY_PORT}${path}?${query}`);
    const text = await res.text();
    if (res.status === 404) continue;
    if (res.status !== 200) throw new Error(`scheduled ${path}: ${res.status} ${text.slice(0, 300)}`);
    return;
  }
  throw new Error("no scheduled-event endpoint in wrangler dev (is --test-scheduled on?)");
}

/** The JSON log lines the Worker wrote, by event name. */
function logLines(text) {
  const lines = [];
  for (const match of text.matchAll(/\{"level":"[a-z]+","event":"[^"]+".*\}/g)) {
    try {
      lines.push(JSON.parse(match[0]));
    } catch {}
  }
  return lines;
}

function d1Totals(lines) {
  const totals = { roundTrips: 0, statements: 0, rowsRead: 0, rowsWritten: 0, withoutMeta: 0, rowsReturnedWithoutMeta: 0 };
  for (const line of lines) {
    totals.roundTrips += 1;
    totals.statements += line.statements;
    if (line.rowsRead === null) {
      totals.withoutMeta += 1;
      totals.rowsReturnedWithoutMeta += line.rowsReturned ?? 0;
    } else {
      totals.rowsRead += line.rowsRead;
      totals.rowsWritten += line.rowsWritten;
    }
  }
  return totals;
}

async function fakeControl(path, body) {
  const call = () => fetch(`http://127.0.0.1:${FAKE_PORT}${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
  // Once more on a lost connection: a kept-alive socket the fake closed as idle just as it was reused.
  const res = await call().catch(() => call());
  return res.json();
}

async function runSize(events) {
  const state = `.wrangler/bench-billing-state-${events}`;
  rmSync(state, { recursive: true, force: true });
  d1(state, "migrations", "apply", "DB");
  // Late in the hour, wait for the next one: the earlier usage hour must stay inside its push window for the whole run.
  while (new Date().getUTCMinutes() >= 50) await sleep(10_000);
  const hour = Math.floor(Date.now() / HOUR) * HOUR;
  seedInstances(state, hour - (HOURS + 1) * HOUR);
  await fakeControl("/__control/fail", { mode: "reset" });

  const dev = startWrangler(state, `${OUT}/billing-dev-${events}.log`);
  try {
    await waitReady(`http://127.0.0.1:${GATEWAY_PORT}/healthz`, 240);
    const batches = eventBatches(events, hour);
    const ingestStarted = performance.now();
    const accepted = await ingest(batches);
    const ingestMs = performance.now() - ingestStarted;
    if (accepted !== events) throw new Error(`ingested ${accepted} of ${events}`);
    // The roll-up takes an hour 2 minutes after it ends.
    while (Date.now() < hour + 3 * MINUTE) await sleep(5_000);

    await sleep(500);
    const before = dev.output().length;
    const started = performance.now();
    await scheduled("*/5 * * * *", Date.now());
    const wallMs = performance.now() - started;
    await sleep(500);
    const lines = logLines(dev.output().slice(before));
    const finished = lines.filter((l) => l.event === "job.finished");
    const rollupAt = lines.findIndex((l) => l.event === "job.finished" && l.job === "usageRollup");
    const rollup = finished.find((l) => l.job === "usageRollup");
    const push = finished.find((l) => l.job === "usagePush");
    if (!rollup || !push || rollupAt < 0) throw new Error(`job lines missing; see ${OUT}/billing-dev-${events}.log`);
    const roundTrips = (from, to) => lines.slice(from, to).filter((l) => l.event === "d1.roundtrip");
    const pushAt = lines.findIndex((l) => l.event === "job.finished" && l.job === "usagePush");

    const fake = await fakeControl("/__control/records");
    const sns = new Set(fake.records.map((r) => r.meteringSn));
    const expectedRecords = Math.min(events, INSTANCES * HOURS);
    const problems = [];
    if (rollup.counts.records !== expectedRecords) problems.push(`roll-up wrote ${rollup.counts.records} records, expected ${expectedRecords}`);
    if (rollup.counts.eventsRolled !== events) problems.push(`roll-up took ${rollup.counts.eventsRolled} events of ${events}`);
    if (push.counts.accepted !== rollup.counts.records) problems.push(`push accepted ${push.counts.accepted} of ${rollup.counts.records}`);
    if (fake.total !== rollup.counts.records || sns.size !== fake.total) problems.push(`fake holds ${fake.total} records, ${sns.size} distinct`);

    return {
      events,
      records: rollup.counts.records,
      ingestMs,
      wallMs,
      rollupMs: rollup.ms,
      pushMs: push.ms - rollup.ms,
      pushCalls: push.counts.calls,
      rollupD1: d1Totals(roundTrips(0, rollupAt)),
      pushD1: d1Totals(roundTrips(rollupAt + 1, pushAt)),
      problems,
    };
  } finally {
    await dev.stop();
  }
}

/** `count` pending hourly records of the hour before `hour`, one per instance, all due now. */
function seedBacklog(state, count, hour) {
  const begin = hour - HOUR;
  const now = Date.now();
  const statements = [];
  let rows = [];
  for (let i = 0; i < count; i++) {
    const id = `bench-bl-${String(i).padStart(7, "0")}`;
    const sn = `bench-backlog-${begin}-${String(i).padStart(7, "0")}`;
    const units = 1 + ((i * 104729) % 99_999);
    const value = `${Math.floor(units / 10000)}.${String(units % 10000).padStart(4, "0")}`.replace(/\.?0+$/, "");
    rows.push(`('${sn}','${id}','bench-product','hourly',${begin},${begin},${hour},${begin},${hour},${units},'${value}',1,0,NULL,'pending',0,${now},${hour + 2 * HOUR},${hour + 90 * MINUTE},'bench',${now},${now})`);
    // D1 refuses a statement over 100 kB (SQLITE_TOOBIG): 300 rows of ~230 bytes stay under it.
    if (rows.length === 300 || i === count - 1) {
      statements.push(
        `INSERT INTO usage_records (metering_sn, instance_id, product_id, period, period_begin, begin_time, end_time, cover_from, cover_to, usage_units, usage_value, event_count, late_units, correction_of, state, attempts, next_attempt_at, deadline, warn_at, rollup_token, created_at, updated_at) VALUES\n${rows.join(",\n")};`,
      );
      rows = [];
    }
  }
  const file = `${tmpdir()}/koogallery-bench-billing-backlog.sql`;
  writeFileSync(file, `${statements.join("\n")}\n`);
  d1(state, "execute", "DB", "--file", file);
}

async function runBacklog(records) {
  const state = `.wrangler/bench-billing-backlog-${records}`;
  rmSync(state, { recursive: true, force: true });
  d1(state, "migrations", "apply", "DB");
  // The records' deadline is 2 h after their hour ends: start early enough in the hour to finish well before it.
  while (new Date().getUTCMinutes() >= 50) await sleep(10_000);
  const hour = Math.floor(Date.now() / HOUR) * HOUR;
  seedBacklog(state, records, hour);
  await fakeControl("/__control/fail", { mode: "reset" });
  const fakeBefore = (await fakeControl("/__control/records")).total;

  const dev = startWrangler(state, `${OUT}/billing-backlog-${records}.log`);
  try {
    await waitReady(`http://127.0.0.1:${GATEWAY_PORT}/healthz`, 240);
    const totals = { runs: 0, accepted: 0, calls: 0, pushMs: 0, rowsRead: 0, rowsWritten: 0, roundTrips: 0 };
    for (;;) {
      await sleep(500);
      const before = dev.output().length;
      await scheduled("*/5 * * * *", Date.now());
      await sleep(500);
      const lines = logLines(dev.output().slice(before));
      const rollupAt = lines.findIndex((l) => l.event === "job.finished" && l.job === "usageRollup");
      const pushAt = lines.findIndex((l) => l.event === "job.finished" && l.job === "usagePush");
      if (rollupAt < 0 || pushAt < 0) throw new Error(`job lines missing; see ${OUT}/billing-backlog-${records}.log`);
      const push = lines[pushAt];
      const d1 = d1Totals(lines.slice(rollupAt + 1, pushAt).filter((l) => l.event === "d1.roundtrip"));
      totals.runs += 1;
      totals.accepted += push.counts.accepted;
      totals.calls += push.counts.calls;
      totals.pushMs += push.ms - lines[rollupAt].ms;
      totals.rowsRead += d1.rowsRead;
      totals.rowsWritten += d1.rowsWritten;
      totals.roundTrips += d1.roundTrips;
      if (totals.runs === 1) totals.first = { accepted: push.counts.accepted, calls: push.counts.calls, ms: push.ms - lines[rollupAt].ms, roundTrips: d1.roundTrips };
      if (push.counts.claimed === 0 || totals.runs >= 10) break;
    }
    const fake = await fakeControl("/__control/records");
    const problems = [];
    if (totals.accepted !== records) problems.push(`push accepted ${totals.accepted} of ${records}`);
    if (fake.total - fakeBefore !== records) problems.push(`fake holds ${fake.total - fakeBefore} new records, expected ${records}`);
    return { records, ...totals, problems };
  } finally {
    await dev.stop();
  }
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const fake = startProcess("npx", ["node", "tools/fake-marketplace/fake-marketplace.ts", "--port", String(FAKE_PORT), "--usage-push-key", devVars.USAGE_PUSH_KEY], `${OUT}/billing-fake.log`);
  const results = [];
  const backlogs = [];
  try {
    await waitReady(`http://127.0.0.1:${FAKE_PORT}/__control/records`, 240);
    for (const events of SIZES) results.push(await runSize(events));
    for (const records of BACKLOGS) backlogs.push(await runBacklog(records));
  } finally {
    await fake.stop();
  }

  const n = (x, digits = 0) => x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  console.log(`\nroll-up + push through wrangler dev and the fake Marketplace on 127.0.0.1 (${new Date().toISOString()})`);
  console.log(`${INSTANCES} instances seeded into local D1 with wrangler d1 execute (not created by newInstance calls); events posted to /api/v1/usage over ${HOURS} closed hour(s)`);
  console.log("D1 rows from D1_QUERY_LOG=true (meta.rows_read / rows_written per round trip)\n");
  console.log("  events   records  ev/rec   ingest ev/s   roll-up s   push s  calls   records/s   rows read/record (roll-up + push)   rows written/record   round trips   raw() look-ups w/o meta");
  for (const r of results) {
    const seconds = (r.rollupMs + r.pushMs) / 1000;
    const read = (r.rollupD1.rowsRead + r.pushD1.rowsRead) / r.records;
    const written = (r.rollupD1.rowsWritten + r.pushD1.rowsWritten) / r.records;
    const withoutMeta = r.rollupD1.withoutMeta + r.pushD1.withoutMeta;
    const returned = r.rollupD1.rowsReturnedWithoutMeta + r.pushD1.rowsReturnedWithoutMeta;
    console.log(
      `${n(r.events).padStart(8)}  ${n(r.records).padStart(8)}  ${n(r.events / r.records, 1).padStart(6)}  ${n(r.events / (r.ingestMs / 1000)).padStart(12)}  ${n(r.rollupMs / 1000, 2).padStart(10)}  ${n(r.pushMs / 1000, 2).padStart(7)}  ${String(r.pushCalls).padStart(5)}  ${n(r.records / seconds).padStart(10)}   ${n(read, 1).padStart(8)} (${n(r.rollupD1.rowsRead / r.records, 1)} + ${n(r.pushD1.rowsRead / r.records, 1)})${" ".repeat(14)}${n(written, 1).padStart(8)}   ${n(r.rollupD1.roundTrips + r.pushD1.roundTrips).padStart(11)}   ${withoutMeta} returning ${n(returned)} rows`,
    );
    for (const problem of r.problems) console.log(`  PROBLEM: ${problem}`);
  }
  if (results.length >= 2) {
    const [a, b] = [results[0], results.at(-1)];
    const cost = (r) => r.rollupD1.rowsRead + r.pushD1.rowsRead;
    console.log(
      `\n${n(b.events / a.events, 1)}x the events: ${n((b.rollupMs + b.pushMs) / (a.rollupMs + a.pushMs), 2)}x the time, ${n(cost(b) / cost(a), 2)}x the rows read (roll-up ${n(b.rollupD1.rowsRead / a.rollupD1.rowsRead, 2)}x, push ${n(b.pushD1.rowsRead / a.pushD1.rowsRead, 2)}x)`,
    );
  }
  if (results.length >= 2) {
    const [a, b] = [results[0], results.at(-1)];
    const perEvent = (r) => r.rollupD1.rowsRead / r.events;
    const rate = (r) => r.records / ((r.rollupMs + r.pushMs) / 1000);
    console.log(
      `roll-up rows read per event: ${n(perEvent(a), 1)} at ${n(a.events)} events, ${n(perEvent(b), 1)} at ${n(b.events)} (${n(perEvent(b) / perEvent(a), 2)}x; aim: flat); records/s at ${n(b.events)} events = ${n(rate(b) / rate(a), 2)}x records/s at ${n(a.events)} (aim: >= 0.8x)`,
    );
  }
  if (results.length > 0) console.log("aims: records/s >= 2,000; cost linear in events");
  if (backlogs.length > 0) {
    console.log("\npush of a due backlog seeded into usage_records (runs of the */5 cron until nothing is left)\n");
    console.log("  records   runs  calls   push s   records/s   rows read/record   rows written/record   round trips");
    for (const b of backlogs) {
      console.log(
        `${n(b.records).padStart(9)}  ${String(b.runs).padStart(5)}  ${String(b.calls).padStart(5)}  ${n(b.pushMs / 1000, 2).padStart(7)}  ${n(b.records / (b.pushMs / 1000)).padStart(10)}   ${n(b.rowsRead / b.records, 2).padStart(16)}   ${n(b.rowsWritten / b.records, 2).padStart(19)}   ${n(b.roundTrips).padStart(11)}`,
      );
      for (const problem of b.problems) console.log(`  PROBLEM: ${problem}`);
      console.log(`           first */5 run: ${n(b.first.accepted)} records accepted in ${n(b.first.ms / 1000, 2)} s, ${b.first.calls} calls, ${n(b.first.roundTrips)} D1 round trips (aim: a 100,000 backlog in one run within 30 s; D1 allows 1,000 queries per invocation)`);
    }
    if (backlogs.length >= 2) {
      const [a, b] = [backlogs[0], backlogs.at(-1)];
      console.log(`\n${n(b.records / a.records, 1)}x the backlog: ${n(b.rowsRead / b.records / (a.rowsRead / a.records), 2)}x the rows read per record (aim: within 1.2x)`);
    }
  }
}

await main();
