// @ts-check
/*
 * The admin page's script (an ES module: the CSP's script-src 'self' admits it and its imports, never inline code).
 * It talks only to /admin/api (api.js) and builds every node with textContent (dom.js). Shapes:
 * src/admin/admin-api.schema.ts, through src/admin/page/api-types.ts.
 */

/** @typedef {import("../../src/admin/page/api-types").AdminInstance} AdminInstance */
/** @typedef {import("../../src/admin/page/api-types").AdminInstanceList} AdminInstanceList */
/** @typedef {import("../../src/admin/page/api-types").Timeline} Timeline */
/** @typedef {import("../../src/admin/page/api-types").TimelineEntry} TimelineEntry */
/** @typedef {import("../../src/admin/page/api-types").ReplayAnswer} ReplayAnswer */
/** @typedef {import("../../src/admin/page/api-types").RetryProvisioningAnswer} RetryProvisioningAnswer */
/** @typedef {import("../../src/admin/page/api-types").UsageReport} UsageReport */
/** @typedef {import("../../src/admin/page/api-types").CorrectionAnswer} CorrectionAnswer */
/** @typedef {import("../../src/admin/page/api-types").ResendAnswer} ResendAnswer */
/** @typedef {import("../../src/admin/page/api-types").DeliveryList} DeliveryList */
/** @typedef {import("../../src/admin/page/api-types").Problem} Problem */
/** @typedef {import("../../src/admin/page/api-types").ProblemList} ProblemList */
/** @typedef {import("../../src/admin/page/api-types").JobsAnswer} JobsAnswer */
/** @typedef {import("../../src/admin/page/api-types").JobRunAnswer} JobRunAnswer */

import { SignedOut, api, forgetToken, keepToken, token } from "./api.js";
import { byId, clear, el, formById, formValues, show, table } from "./dom.js";
import { DASH, ago, entryTitle, isBad, text, utc, when } from "./format.js";
import { PLACES } from "./problem-places.js";
import { downloadCsv, loadStatement, prepareStatements, reconcile } from "./statements.js";

/** @type {{ instanceQuery: Record<string, string>, nextCursor: string | null }} */
const state = { instanceQuery: {}, nextCursor: null };

/**
 * The status line.
 * @param {string} message
 * @param {boolean} [isError]
 */
function say(message, isError) {
  const status = byId("status");
  status.textContent = message;
  status.className = isError ? "error" : "";
}

/**
 * Runs an action, reporting its failure in the status line instead of an unhandled rejection.
 * @param {(event?: Event) => unknown} action
 * @returns {(event?: Event) => Promise<void>}
 */
function guarded(action) {
  return async (event) => {
    if (event) event.preventDefault();
    try {
      await action(event);
    } catch (error) {
      if (error instanceof SignedOut) signOut(error.message);
      else say(error instanceof Error ? error.message : String(error), true);
    }
  };
}

// ---- sign-in --------------------------------------------------------------------------------------------------------

/** @param {string} message */
function signOut(message) {
  forgetToken();
  show(byId("console"), false);
  show(byId("sign-out"), false);
  show(byId("sign-in"), true);
  const error = byId("sign-in-error");
  error.textContent = message;
  show(error, Boolean(message));
  say("");
}

/** @param {SubmitEvent} event */
async function signIn(event) {
  event.preventDefault();
  const field = /** @type {HTMLInputElement} */ (byId("token"));
  const value = field.value.trim();
  field.value = "";
  if (!value) return;
  keepToken(value);
  try {
    await api("GET", "/admin/api/health");
  } catch (error) {
    signOut(error instanceof Error ? error.message : String(error));
    return;
  }
  enter();
}

function enter() {
  show(byId("sign-in"), false);
  show(byId("sign-in-error"), false);
  show(byId("console"), true);
  show(byId("sign-out"), true);
  openFromHash();
  void guarded(loadJobs)();
  void guarded(countProblems)();
}

/** Links from alerts and problems: #problems, #jobs, #usage, #deliveries, #statements, #instance=<id>. */
function openFromHash() {
  const hash = decodeURIComponent(location.hash.replace(/^#/, ""));
  if (hash.startsWith("instance=")) {
    selectTab("instances");
    const id = hash.slice("instance=".length);
    void guarded(() => loadTimeline(id))();
    return;
  }
  selectTab(isTab(hash) ? hash : "instances");
}

// ---- tabs -----------------------------------------------------------------------------------------------------------

/** @type {Record<string, () => Promise<unknown>>} */
const loaders = {
  problems: () => loadProblems(),
  instances: () => loadInstances(false),
  usage: () => loadUsage(),
  deliveries: () => loadDeliveries(),
  jobs: () => loadJobs(),
  statements: () => loadStatement(say),
};

/**
 * @param {string} name
 * @returns {boolean}
 */
function isTab(name) {
  return Object.hasOwn(loaders, name);
}

/** @param {string} name */
function selectTab(name) {
  document.querySelectorAll("nav .tab").forEach((tab) => {
    if (tab instanceof HTMLElement) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  });
  document.querySelectorAll(".panel").forEach((panel) => {
    if (panel instanceof HTMLElement) show(panel, panel.id === "tab-" + name);
  });
  say("");
  const load = loaders[name];
  if (load) void guarded(load)();
}

// ---- instances ------------------------------------------------------------------------------------------------------

/** @param {boolean} more */
async function loadInstances(more) {
  if (!more) state.instanceQuery = formValues(formById("instance-filters"));
  const query = { ...state.instanceQuery, ...(more ? { cursor: state.nextCursor } : {}) };
  say("Loading instances\u2026");
  const page = /** @type {AdminInstanceList} */ (await api("GET", "/admin/api/instances", query));
  const holder = byId("instances");
  const rows = page.instances;
  if (more) {
    const tbody = holder.querySelector("tbody");
    const next = instanceTable(rows);
    if (tbody) next.querySelectorAll("tbody tr").forEach((tr) => tbody.appendChild(tr));
  } else {
    clear(holder).appendChild(instanceTable(rows));
  }
  state.nextCursor = page.nextCursor;
  show(byId("instances-more"), Boolean(page.nextCursor));
  say(rows.length + " instance(s)" + (page.nextCursor ? ", more available" : ""));
}

/** @param {AdminInstance[]} rows */
function instanceTable(rows) {
  return table(rows, [
    ["Instance", (r) => r.instanceId],
    ["Status", (r) => text(r.status)],
    ["Test", (r) => (r.test ? "test" : "real")],
    ["Product", (r) => text(r.productId)],
    ["Order", (r) => text(r.orderId)],
    ["Customer", (r) => text(r.customer ? r.customer.name : null)],
    ["Updated", (r) => when(r.updatedAt)],
    ["Failure", (r) => (r.failureCode ? r.failureCode + " " + text(r.failureReason) : DASH)],
  ], (row, tr) => {
    tr.className = "clickable" + (row.status === "failed" ? " failed" : "");
    tr.dataset.instanceId = row.instanceId;
    tr.tabIndex = 0;
    const open = guarded(() => loadTimeline(row.instanceId, tr));
    tr.addEventListener("click", open);
    tr.addEventListener("keydown", (event) => {
      if (event.key === "Enter") void open(event);
    });
  });
}

// ---- timeline -------------------------------------------------------------------------------------------------------

/** @type {Array<[string, keyof AdminInstance]>} */
const SUMMARY_FIELDS = [
  ["Status", "status"], ["Test", "test"], ["Product", "productId"], ["SKU", "skuCode"], ["Order", "orderId"],
  ["Order line", "orderLineId"], ["Charging", "chargingMode"], ["Expires", "expireAt"], ["Created", "createdAt"],
  ["Provisioned", "provisionedAt"], ["Failure", "failureReason"],
];

/**
 * @param {string} instanceId
 * @param {HTMLTableRowElement} [row]
 */
async function loadTimeline(instanceId, row) {
  document.querySelectorAll("#instances tr.selected").forEach((tr) => tr.classList.remove("selected"));
  if (row) row.classList.add("selected");
  say("Loading timeline\u2026");
  const timeline = /** @type {Timeline} */ (await api("GET", "/admin/api/instances/" + encodeURIComponent(instanceId) + "/timeline"));
  byId("timeline-id").textContent = instanceId;
  const instance = timeline.instance;
  const summary = el("dl", { className: "summary" }, [
    el("dt", { text: "Customer" }),
    el("dd", { className: "customer-name", text: text(instance.customer ? instance.customer.name : null) }),
  ]);
  for (const [label, field] of SUMMARY_FIELDS) summary.append(el("dt", { text: label }), el("dd", { text: text(instance[field]) }));
  const audit = timeline.audit;
  summary.append(
    el("dt", { text: "Audit chain" }),
    audit.ok
      ? el("dd", { text: "verified (" + audit.length + " rows)" })
      : el("dd", { className: "error", text: "BROKEN at seq " + audit.seq + ": " + text(audit.problem) }),
  );
  const holder = clear(byId("timeline-summary"));
  holder.appendChild(summary);
  if (instance.status === "failed") {
    holder.appendChild(el("button", { type: "button", text: "Retry provisioning", onclick: guarded(() => retryProvisioning(instanceId)) }));
  }
  if (timeline.truncated) holder.appendChild(el("p", { className: "hint", text: "Older entries are left out." }));

  const list = clear(byId("timeline-entries"));
  for (const entry of timeline.entries) list.appendChild(timelineEntry(instanceId, entry));
  if (!timeline.entries.length) list.appendChild(el("li", { className: "empty", text: "No entries." }));
  show(byId("timeline"), true);
  say(timeline.entries.length + " timeline entries");
}

/**
 * @param {string} instanceId
 * @param {TimelineEntry} entry
 */
function timelineEntry(instanceId, entry) {
  const { kind: _kind, at: _at, ...details } = entry;
  const item = el("li", { className: isBad(entry) ? "bad" : "" }, [
    el("div", { className: "entry-head" }, [el("span", { className: "entry-time", text: when(entry.at) }), el("span", { text: entryTitle(entry) })]),
    el("pre", { text: JSON.stringify(details, null, 2) }),
  ]);
  if (entry.kind === "inbox") {
    item.appendChild(el("button", { type: "button", text: "Replay", onclick: guarded(() => replay(instanceId, entry.inboxId)) }));
  }
  if (entry.kind === "delivery" && entry.deliveryState === "failed") item.appendChild(resendButton(entry.eventId, () => loadTimeline(instanceId)));
  return item;
}

/**
 * @param {string} instanceId
 * @param {number} inboxId
 */
async function replay(instanceId, inboxId) {
  const path = "/admin/api/instances/" + encodeURIComponent(instanceId) + "/replay/" + encodeURIComponent(inboxId);
  const answer = /** @type {ReplayAnswer} */ (await api("POST", path));
  say("Replay of inbox #" + inboxId + ": " + answer.source + ", result " + answer.resultCode);
}

/** @param {string} instanceId */
async function retryProvisioning(instanceId) {
  const path = "/admin/api/instances/" + encodeURIComponent(instanceId) + "/retry-provisioning";
  const answer = /** @type {RetryProvisioningAnswer} */ (await api("POST", path));
  say("Provisioning retried: " + answer.instance.status);
  await loadTimeline(instanceId);
}

// ---- usage ----------------------------------------------------------------------------------------------------------

async function loadUsage() {
  const filters = formValues(formById("usage-filters"));
  say("Loading usage\u2026");
  const report = /** @type {UsageReport} */ (await api("GET", "/admin/api/usage", { from: utc(filters.from), to: utc(filters.to), state: filters.state }));
  clear(byId("usage")).append(
    el("p", { className: "hint", text: "Records per hour from " + when(report.from) + " to " + when(report.to) + " (UTC)." }),
    table(report.hours, [
      ["Hour", (r) => when(r.hour)],
      ["State", (r) => r.state],
      ["Records", (r) => text(r.records)],
      ["Usage", (r) => text(r.usage)],
    ], (row, tr) => {
      if (row.state === "rejected" || row.state === "expired") tr.className = "rejected";
    }),
    el("h2", { text: "Rejected and expired records" }),
    table(report.problems, [
      ["Period", (r) => when(r.periodBegin)],
      ["metering_sn", (r) => r.meteringSn],
      ["Instance", (r) => r.instanceId],
      ["State", (r) => r.state],
      ["Usage", (r) => text(r.usageValue)],
      ["Code", (r) => text(r.rejectCode)],
      ["Message", (r) => text(r.rejectMessage || r.lastError)],
      ["", (r) => el("button", { type: "button", text: "Correct", title: "Write a correction record (never an edit)", onclick: guarded(() => correct(r.meteringSn)) })],
    ], (_row, tr) => {
      tr.className = "rejected";
    }),
  );
  say(report.hours.length + " hour row(s), " + report.problems.length + " problem record(s)");
}

/** @param {string} meteringSn */
async function correct(meteringSn) {
  const answer = /** @type {CorrectionAnswer} */ (await api("POST", "/admin/api/usage/" + encodeURIComponent(meteringSn) + "/correct"));
  say((answer.created ? "Correction written: " : "Already corrected by ") + answer.correction.meteringSn);
  await loadUsage();
}

// ---- deliveries -----------------------------------------------------------------------------------------------------

/**
 * @param {string} eventId
 * @param {() => Promise<unknown>} after
 */
function resendButton(eventId, after) {
  return el("button", {
    type: "button",
    text: "Resend",
    onclick: guarded(async () => {
      const answer = /** @type {ResendAnswer} */ (await api("POST", "/admin/api/deliveries/" + encodeURIComponent(eventId) + "/resend"));
      say("Resend of " + eventId + " queued (" + answer.delivery.deliveryState + ")");
      await after();
    }),
  });
}

async function loadDeliveries() {
  const filters = formValues(formById("delivery-filters"));
  say("Loading deliveries\u2026");
  const list = /** @type {DeliveryList} */ (await api("GET", "/admin/api/deliveries", { state: filters.status }));
  const rows = list.deliveries;
  clear(byId("deliveries")).appendChild(table(rows, [
    ["Created", (r) => when(r.createdAt)],
    ["Event", (r) => r.eventId],
    ["Type", (r) => r.type],
    ["Instance", (r) => text(r.instanceId)],
    ["State", (r) => r.deliveryState],
    ["Attempts", (r) => text(r.attempts)],
    ["Last answer", (r) => text(r.lastStatus) + " " + text(r.lastError)],
    ["", (r) => (r.deliveryState === "failed" ? resendButton(r.eventId, loadDeliveries) : "")],
  ], (row, tr) => {
    if (row.deliveryState === "failed") tr.className = "failed";
  }));
  say(rows.length + " deliver" + (rows.length === 1 ? "y" : "ies"));
}

// ---- problems -------------------------------------------------------------------------------------------------------

async function countProblems() {
  const answer = /** @type {ProblemList} */ (await api("GET", "/admin/api/problems", { state: "open", limit: 500 }));
  const open = answer.problems.length;
  const badge = byId("problems-count");
  badge.textContent = String(open);
  show(badge, open > 0);
  return answer.problems;
}

/** @param {Problem} problem */
function placeLink(problem) {
  const place = PLACES[problem.kind] ?? "health";
  if (place === "instance" && /^[A-Za-z0-9_-]{1,64}$/.test(problem.subject)) {
    return el("button", { type: "button", text: "Timeline", onclick: guarded(() => {
      selectTab("instances");
      return loadTimeline(problem.subject);
    }) });
  }
  if (place === "deliveries" || place === "jobs" || place === "usage") {
    return el("button", { type: "button", text: place.charAt(0).toUpperCase() + place.slice(1), onclick: () => selectTab(place) });
  }
  return place === "health" ? el("span", { className: "hint", text: "see /admin/api/health" }) : DASH;
}

/** @param {Problem} problem */
function resolveForm(problem) {
  const note = el("input", { type: "text", placeholder: "note (what was done)", maxLength: 1000, required: true });
  const form = el("form", { className: "resolve" }, [note, el("button", { type: "submit", text: "Resolve" })]);
  form.addEventListener("submit", guarded(async () => {
    const what = note.value.trim();
    if (!what) {
      say("Write a note first: what was done about it.", true);
      return;
    }
    await api("POST", "/admin/api/problems/" + encodeURIComponent(problem.id) + "/resolve", null, { json: { note: what } });
    say("Problem #" + problem.id + " resolved");
    await loadProblems();
  }));
  return form;
}

async function loadProblems() {
  const filters = formValues(formById("problem-filters"));
  say("Loading problems\u2026");
  const answer = /** @type {ProblemList} */ (await api("GET", "/admin/api/problems", { state: filters.state || "open" }));
  const rows = answer.problems.slice().sort((a, b) => (a.state === "open" ? 0 : 1) - (b.state === "open" ? 0 : 1));
  clear(byId("problems")).appendChild(table(rows, [
    ["Severity", (r) => r.severity],
    ["Kind", (r) => r.kind],
    ["Subject", (r) => r.subject],
    ["What", (r) => el("div", null, [el("div", { text: r.summary }), el("div", { className: "hint", text: r.detail })])],
    ["Since", (r) => when(r.openedAt)],
    ["Last seen", (r) => when(r.lastSeenAt) + (r.count > 1 ? " (" + r.count + "\u00d7)" : "")],
    ["State", (r) => (r.state === "open" ? "open" : "resolved " + when(r.resolvedAt))],
    ["", (r) => placeLink(r)],
    ["", (r) => (r.state === "open" ? resolveForm(r) : "")],
  ], (row, tr) => {
    tr.className = row.state === "open" ? row.severity : "resolved";
  }));
  const open = rows.filter((r) => r.state === "open").length;
  say(rows.length + " problem(s), " + open + " open", open > 0);
  await countProblems();
}

// ---- jobs -----------------------------------------------------------------------------------------------------------

async function loadJobs() {
  const answer = /** @type {JobsAnswer} */ (await api("GET", "/admin/api/jobs"));
  const jobs = answer.jobs;
  const late = jobs.filter((job) => job.state === "late");
  const banner = clear(byId("late-jobs"));
  if (late.length) {
    const names = late.map((job) => {
      const last = job.runs[0];
      const why = last && last.status === "failed" ? "last run failed" : job.lateByMs === null ? "never ran" : "overdue by " + ago(job.lateByMs);
      return job.name + " (" + why + ")";
    });
    banner.textContent = "Cron job late: " + names.join(", ") + ". Check the Worker's cron triggers and the job's last error.";
  }
  show(banner, late.length > 0);
  say(jobs.length + " jobs" + (late.length ? ", " + late.length + " late" : ""), late.length > 0);
  clear(byId("jobs")).appendChild(table(jobs, [
    ["Job", (r) => r.name],
    ["Cron", (r) => r.cron],
    ["State", (r) => (r.state === "late" ? "LATE" : "ok")],
    ["Last start", (r) => when(r.runs[0] ? r.runs[0].startedAt : null)],
    ["Duration", (r) => {
      const run = r.runs[0];
      return run && run.durationMs !== null ? run.durationMs + " ms" : DASH;
    }],
    ["Counts", (r) => text(r.runs[0] ? r.runs[0].counts : null)],
    ["Last error", (r) => {
      const failed = r.runs.find((run) => run.error);
      return failed ? when(failed.startedAt) + " " + failed.error : DASH;
    }],
    ["", (r) => el("button", { type: "button", text: "Run now", onclick: guarded(() => runJob(r.name)) })],
  ], (row, tr) => {
    if (row.state === "late") tr.className = "late";
  }));
}

/** @param {string} name */
async function runJob(name) {
  say("Running " + name + "\u2026");
  const answer = /** @type {JobRunAnswer} */ (await api("POST", "/admin/api/jobs/" + encodeURIComponent(name) + "/run"));
  say(name + ": " + answer.run.status + (answer.run.error ? " \u2014 " + answer.run.error : ""), answer.run.status === "failed");
  await loadJobs();
}

// ---- wiring ---------------------------------------------------------------------------------------------------------

/**
 * A module runs after the document is parsed (deferred), so the page's elements are all there.
 */
function wire() {
  formById("sign-in-form").addEventListener("submit", signIn);
  byId("sign-out").addEventListener("click", () => signOut(""));
  document.querySelectorAll("nav .tab").forEach((tab) => {
    if (tab instanceof HTMLElement) tab.addEventListener("click", () => selectTab(tab.dataset.tab ?? "instances"));
  });
  formById("instance-filters").addEventListener("submit", guarded(() => loadInstances(false)));
  byId("instances-more").addEventListener("click", guarded(() => loadInstances(true)));
  formById("usage-filters").addEventListener("submit", guarded(loadUsage));
  formById("delivery-filters").addEventListener("submit", guarded(loadDeliveries));
  byId("jobs-refresh").addEventListener("click", guarded(loadJobs));
  formById("problem-filters").addEventListener("submit", guarded(loadProblems));
  prepareStatements();
  formById("statement-filters").addEventListener("submit", guarded(() => loadStatement(say)));
  byId("statement-csv").addEventListener("click", guarded(() => downloadCsv(say)));
  formById("reconcile-form").addEventListener("submit", guarded(() => reconcile(say)));
  if (token()) enter();
  else signOut("");
}

wire();
