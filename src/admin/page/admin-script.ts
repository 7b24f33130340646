/**
 * The admin page's script, served as /admin/app.js. Plain browser JavaScript in a string (no build step). It talks
 * only to /admin/api with the bearer token kept in sessionStorage, and it builds every node with createElement and
 * textContent: data from the API (a customer name, a stored request, an error text) is never parsed as HTML.
 * Shapes: src/admin/admin-api.schema.ts. No backticks or template substitutions in here: this is a template string
 * (__PROBLEM_PLACES__ is replaced once, below, by the problem kinds' places).
 */
import { PLACE } from "../../operations/problem-kinds";

export const ADMIN_JS = String.raw`"use strict";
(function () {
  var TOKEN_KEY = "koogallery-admin-token";
  var $ = function (id) { return document.getElementById(id); };
  var state = { instanceQuery: {}, nextCursor: null, selected: null };

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  /** el("td", {className: "x"}, ["text", node]): strings become text nodes, never markup. */
  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) for (var key in props) {
      if (key === "dataset") for (var d in props.dataset) node.dataset[d] = props.dataset[d];
      else if (key === "text") node.textContent = props.text;
      else node[key] = props[key];
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function show(node, visible) { node.hidden = !visible; }

  function say(text, isError) {
    var status = $("status");
    status.textContent = text || "";
    status.className = isError ? "error" : "";
  }

  function text(value) {
    if (value === null || value === undefined || value === "") return "\u2014";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function when(iso) {
    if (!iso) return "\u2014";
    return String(iso).replace("T", " ").replace(/\.\d{3}Z$/, "Z");
  }

  function ago(ms) {
    if (ms === null || ms === undefined) return "never ran";
    var minutes = Math.round(ms / 60000);
    return minutes < 120 ? minutes + " min" : Math.round(minutes / 60) + " h";
  }

  function SignedOut() { this.name = "SignedOut"; this.message = "signed out"; }

  async function api(method, path, query, body) {
    var url = new URL(path, location.origin);
    if (query) for (var name in query) if (query[name] !== "" && query[name] !== null && query[name] !== undefined) url.searchParams.set(name, query[name]);
    var headers = { Authorization: "Bearer " + token(), Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    var response = await fetch(url.toString(), {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
    if (response.status === 401) {
      signOut("The admin token was refused. Sign in again.");
      throw new SignedOut();
    }
    var body = null;
    try { body = await response.json(); } catch (error) { body = null; }
    if (!response.ok) throw new Error((body && typeof body.error === "string" ? body.error : "HTTP " + response.status));
    return body;
  }

  /** Runs an action, reporting its failure in the status line instead of an unhandled rejection. */
  function guarded(action) {
    return function (event) {
      if (event && event.preventDefault) event.preventDefault();
      return Promise.resolve().then(function () { return action(event); }).catch(function (error) {
        if (error instanceof SignedOut) return;
        say(error && error.message ? error.message : String(error), true);
      });
    };
  }

  /** columns: [[heading, function(row) -> string | Node]]; decorate(row, tr) adds classes and handlers. */
  function table(rows, columns, decorate) {
    if (!rows.length) return el("p", { className: "empty", text: "Nothing to show." });
    var head = el("tr", null, columns.map(function (c) { return el("th", { text: c[0] }); }));
    var body = rows.map(function (row) {
      var tr = el("tr", null, columns.map(function (c) {
        var value = c[1](row);
        return el("td", null, [typeof value === "string" ? value : value]);
      }));
      if (decorate) decorate(row, tr);
      return tr;
    });
    return el("table", null, [el("thead", null, [head]), el("tbody", null, body)]);
  }

  // ---- sign-in --------------------------------------------------------------------------------------------------

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    show($("console"), false);
    show($("sign-out"), false);
    show($("sign-in"), true);
    var error = $("sign-in-error");
    error.textContent = message || "";
    show(error, Boolean(message));
    say("");
  }

  async function signIn(event) {
    event.preventDefault();
    var field = $("token");
    var value = field.value.trim();
    field.value = "";
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    try {
      await api("GET", "/admin/api/health");
    } catch (error) {
      if (!(error instanceof SignedOut)) signOut(error.message);
      return;
    }
    enter();
  }

  function enter() {
    show($("sign-in"), false);
    show($("sign-in-error"), false);
    show($("console"), true);
    show($("sign-out"), true);
    openFromHash();
    guarded(loadJobs)();
    guarded(countProblems)();
  }

  /** Links from alerts and problems: #problems, #jobs, #usage, #deliveries, #instance=<id>. */
  function openFromHash() {
    var hash = decodeURIComponent(location.hash.replace(/^#/, ""));
    if (hash.indexOf("instance=") === 0) {
      selectTab("instances");
      var id = hash.slice("instance=".length);
      guarded(function () { return loadTimeline(id); })();
      return;
    }
    selectTab(loaders[hash] ? hash : "instances");
  }

  // ---- tabs -----------------------------------------------------------------------------------------------------

  var loaders = {
    problems: function () { return loadProblems(); },
    instances: function () { return loadInstances(false); },
    usage: function () { return loadUsage(); },
    deliveries: function () { return loadDeliveries(); },
    jobs: function () { return loadJobs(); },
  };

  function selectTab(name) {
    document.querySelectorAll(".tab").forEach(function (tab) { tab.setAttribute("aria-selected", String(tab.dataset.tab === name)); });
    document.querySelectorAll(".panel").forEach(function (panel) { show(panel, panel.id === "tab-" + name); });
    say("");
    guarded(loaders[name])();
  }

  // ---- instances ------------------------------------------------------------------------------------------------

  function formValues(form) {
    var values = {};
    new FormData(form).forEach(function (value, key) { values[key] = String(value).trim(); });
    return values;
  }

  async function loadInstances(more) {
    if (!more) state.instanceQuery = formValues($("instance-filters"));
    var query = Object.assign({}, state.instanceQuery, more ? { cursor: state.nextCursor } : {});
    say("Loading instances\u2026");
    var page = await api("GET", "/admin/api/instances", query);
    var holder = $("instances");
    var rows = page.instances || [];
    if (more) {
      var tbody = holder.querySelector("tbody");
      var next = instanceTable(rows);
      if (tbody && next.querySelector("tbody")) next.querySelectorAll("tbody tr").forEach(function (tr) { tbody.appendChild(tr); });
    } else {
      clear(holder).appendChild(instanceTable(rows));
    }
    state.nextCursor = page.nextCursor;
    show($("instances-more"), Boolean(page.nextCursor));
    say(rows.length + " instance(s)" + (page.nextCursor ? ", more available" : ""));
  }

  function instanceTable(rows) {
    return table(rows, [
      ["Instance", function (r) { return r.instanceId; }],
      ["Status", function (r) { return text(r.status); }],
      ["Test", function (r) { return r.test ? "test" : "real"; }],
      ["Product", function (r) { return text(r.productId); }],
      ["Order", function (r) { return text(r.orderId); }],
      ["Customer", function (r) { return text(r.customer ? r.customer.name : null); }],
      ["Updated", function (r) { return when(r.updatedAt); }],
      ["Failure", function (r) { return r.failureCode ? r.failureCode + " " + text(r.failureReason) : "\u2014"; }],
    ], function (row, tr) {
      tr.className = "clickable" + (row.status === "failed" ? " failed" : "");
      tr.dataset.instanceId = row.instanceId;
      tr.tabIndex = 0;
      var open = guarded(function () { return loadTimeline(row.instanceId, tr); });
      tr.addEventListener("click", open);
      tr.addEventListener("keydown", function (event) { if (event.key === "Enter") open(event); });
    });
  }

  // ---- timeline -------------------------------------------------------------------------------------------------

  var SUMMARY_FIELDS = [
    ["Status", "status"], ["Test", "test"], ["Product", "productId"], ["SKU", "skuCode"], ["Order", "orderId"],
    ["Order line", "orderLineId"], ["Charging", "chargingMode"], ["Expires", "expireAt"], ["Created", "createdAt"],
    ["Provisioned", "provisionedAt"], ["Failure", "failureReason"],
  ];

  async function loadTimeline(instanceId, row) {
    document.querySelectorAll("#instances tr.selected").forEach(function (tr) { tr.classList.remove("selected"); });
    if (row) row.classList.add("selected");
    say("Loading timeline\u2026");
    var timeline = await api("GET", "/admin/api/instances/" + encodeURIComponent(instanceId) + "/timeline");
    state.selected = instanceId;
    $("timeline-id").textContent = instanceId;
    var instance = timeline.instance || {};
    var summary = el("dl", { className: "summary" });
    summary.appendChild(el("dt", { text: "Customer" }));
    summary.appendChild(el("dd", { className: "customer-name", text: text(instance.customer ? instance.customer.name : null) }));
    SUMMARY_FIELDS.forEach(function (field) {
      summary.appendChild(el("dt", { text: field[0] }));
      summary.appendChild(el("dd", { text: text(instance[field[1]]) }));
    });
    var audit = timeline.audit || {};
    summary.appendChild(el("dt", { text: "Audit chain" }));
    summary.appendChild(el("dd", { className: audit.ok ? "" : "error", text: audit.ok ? "verified (" + audit.length + " rows)" : "BROKEN at seq " + audit.seq + ": " + text(audit.problem) }));
    var holder = clear($("timeline-summary"));
    holder.appendChild(summary);
    if (instance.status === "failed") holder.appendChild(el("button", { type: "button", text: "Retry provisioning", onclick: guarded(function () { return retryProvisioning(instanceId); }) }));
    if (timeline.truncated) holder.appendChild(el("p", { className: "hint", text: "Older entries are left out." }));

    var list = clear($("timeline-entries"));
    (timeline.entries || []).forEach(function (entry) { list.appendChild(timelineEntry(instanceId, entry)); });
    if (!(timeline.entries || []).length) list.appendChild(el("li", { className: "empty", text: "No entries." }));
    show($("timeline"), true);
    say((timeline.entries || []).length + " timeline entries");
  }

  function entryTitle(entry) {
    switch (entry.kind) {
      case "inbox": case "kitSync": return entry.kind + " \u00b7 " + entry.interface + " " + entry.activity + " \u2192 " + entry.resultCode;
      case "audit": return "audit #" + entry.seq + " \u00b7 " + entry.event + (entry.toStatus ? " (" + text(entry.fromStatus) + " \u2192 " + entry.toStatus + ")" : "");
      case "orderFetch": return "query order \u00b7 " + entry.fetchState + " after " + entry.fetchAttempts + " attempt(s)";
      case "delivery": return "webhook " + entry.type + " \u00b7 " + (entry.deliveryState === "none" ? "not sent (no webhook configured)" : entry.deliveryState + " after " + entry.attempts + " attempt(s)");
      case "usageRecord": return "usage " + entry.meteringSn + " \u00b7 " + entry.state + " \u00b7 " + entry.usageValue;
      case "signIn": return "sign-in \u00b7 " + entry.userName + " (" + entry.role + ") of tenant " + entry.tenantId;
      default: return text(entry.kind);
    }
  }

  function isBad(entry) {
    return entry.deliveryState === "failed" || entry.state === "rejected" || entry.state === "expired" || entry.fetchState === "failed" ||
      ((entry.kind === "inbox" || entry.kind === "kitSync") && entry.resultCode !== "000000" && entry.resultCode !== "000004");
  }

  function timelineEntry(instanceId, entry) {
    var details = Object.assign({}, entry);
    delete details.kind;
    delete details.at;
    var item = el("li", { className: isBad(entry) ? "bad" : "" }, [
      el("div", { className: "entry-head" }, [el("span", { className: "entry-time", text: when(entry.at) }), el("span", { text: entryTitle(entry) })]),
      el("pre", { text: JSON.stringify(details, null, 2) }),
    ]);
    if (entry.kind === "inbox") item.appendChild(el("button", { type: "button", text: "Replay", onclick: guarded(function () { return replay(instanceId, entry.inboxId); }) }));
    if (entry.kind === "delivery" && entry.deliveryState === "failed") item.appendChild(resendButton(entry.eventId, function () { return loadTimeline(instanceId); }));
    return item;
  }

  async function replay(instanceId, inboxId) {
    var answer = await api("POST", "/admin/api/instances/" + encodeURIComponent(instanceId) + "/replay/" + encodeURIComponent(inboxId));
    say("Replay of inbox #" + inboxId + ": " + answer.source + ", result " + answer.resultCode);
  }

  async function retryProvisioning(instanceId) {
    var answer = await api("POST", "/admin/api/instances/" + encodeURIComponent(instanceId) + "/retry-provisioning");
    say("Provisioning retried: " + (answer.instance ? answer.instance.status : "?"));
    await loadTimeline(instanceId);
  }

  // ---- usage ----------------------------------------------------------------------------------------------------

  /** datetime-local has no zone: the operator types UTC, as every time on this page is UTC. */
  function utc(value) { return value ? value + (value.length === 16 ? ":00Z" : "Z") : ""; }

  async function loadUsage() {
    var filters = formValues($("usage-filters"));
    say("Loading usage\u2026");
    var report = await api("GET", "/admin/api/usage", { from: utc(filters.from), to: utc(filters.to), state: filters.state });
    var holder = clear($("usage"));
    holder.appendChild(el("p", { className: "hint", text: "Records per hour from " + when(report.from) + " to " + when(report.to) + " (UTC)." }));
    holder.appendChild(table(report.hours || [], [
      ["Hour", function (r) { return when(r.hour); }],
      ["State", function (r) { return r.state; }],
      ["Records", function (r) { return text(r.records); }],
      ["Usage", function (r) { return text(r.usage); }],
    ], function (row, tr) { if (row.state === "rejected" || row.state === "expired") tr.className = "rejected"; }));
    holder.appendChild(el("h2", { text: "Rejected and expired records" }));
    holder.appendChild(table(report.problems || [], [
      ["Period", function (r) { return when(r.periodBegin); }],
      ["metering_sn", function (r) { return r.meteringSn; }],
      ["Instance", function (r) { return r.instanceId; }],
      ["State", function (r) { return r.state; }],
      ["Usage", function (r) { return text(r.usageValue); }],
      ["Code", function (r) { return text(r.rejectCode); }],
      ["Message", function (r) { return text(r.rejectMessage || r.lastError); }],
      ["", function (r) {
        return el("button", { type: "button", text: "Correct", title: "Write a correction record (never an edit)", onclick: guarded(function () { return correct(r.meteringSn); }) });
      }],
    ], function (row, tr) { tr.className = "rejected"; }));
    say((report.hours || []).length + " hour row(s), " + (report.problems || []).length + " problem record(s)");
  }

  async function correct(meteringSn) {
    var answer = await api("POST", "/admin/api/usage/" + encodeURIComponent(meteringSn) + "/correct");
    say((answer.created ? "Correction written: " : "Already corrected by ") + answer.correction.meteringSn);
    await loadUsage();
  }

  // ---- deliveries -----------------------------------------------------------------------------------------------

  function resendButton(eventId, after) {
    return el("button", {
      type: "button",
      text: "Resend",
      onclick: guarded(async function () {
        var answer = await api("POST", "/admin/api/deliveries/" + encodeURIComponent(eventId) + "/resend");
        say("Resend of " + eventId + " queued (" + answer.delivery.deliveryState + ")");
        await after();
      }),
    });
  }

  async function loadDeliveries() {
    var filters = formValues($("delivery-filters"));
    say("Loading deliveries\u2026");
    var list = await api("GET", "/admin/api/deliveries", { state: filters.status });
    var rows = list.deliveries || [];
    clear($("deliveries")).appendChild(table(rows, [
      ["Created", function (r) { return when(r.createdAt); }],
      ["Event", function (r) { return r.eventId; }],
      ["Type", function (r) { return r.type; }],
      ["Instance", function (r) { return text(r.instanceId); }],
      ["State", function (r) { return r.deliveryState; }],
      ["Attempts", function (r) { return text(r.attempts); }],
      ["Last answer", function (r) { return text(r.lastStatus) + " " + text(r.lastError); }],
      ["", function (r) { return r.deliveryState === "failed" ? resendButton(r.eventId, loadDeliveries) : ""; }],
    ], function (row, tr) { if (row.deliveryState === "failed") tr.className = "failed"; }));
    say(rows.length + " deliver" + (rows.length === 1 ? "y" : "ies"));
  }

  // ---- problems -------------------------------------------------------------------------------------------------

  /** Where each kind's problem is looked into (src/operations/problem-kinds.ts PLACE). */
  var PLACES = __PROBLEM_PLACES__;

  async function countProblems() {
    var answer = await api("GET", "/admin/api/problems", { state: "open", limit: 500 });
    var open = (answer.problems || []).length;
    var badge = $("problems-count");
    badge.textContent = String(open);
    show(badge, open > 0);
    return answer.problems || [];
  }

  function placeLink(problem) {
    var place = PLACES[problem.kind] || "health";
    if (place === "instance" && /^[A-Za-z0-9_-]{1,64}$/.test(problem.subject)) {
      return el("button", { type: "button", text: "Timeline", onclick: guarded(function () {
        selectTab("instances");
        return loadTimeline(problem.subject);
      }) });
    }
    if (place === "deliveries" || place === "jobs" || place === "usage") {
      return el("button", { type: "button", text: place.charAt(0).toUpperCase() + place.slice(1), onclick: function () { selectTab(place); } });
    }
    return place === "health" ? el("span", { className: "hint", text: "see /admin/api/health" }) : "\u2014";
  }

  function resolveForm(problem) {
    var note = el("input", { type: "text", placeholder: "note (what was done)", maxLength: 1000, required: true });
    var form = el("form", { className: "resolve" }, [note, el("button", { type: "submit", text: "Resolve" })]);
    form.addEventListener("submit", guarded(async function () {
      var text = note.value.trim();
      if (!text) { say("Write a note first: what was done about it.", true); return; }
      await api("POST", "/admin/api/problems/" + encodeURIComponent(problem.id) + "/resolve", null, { note: text });
      say("Problem #" + problem.id + " resolved");
      await loadProblems();
    }));
    return form;
  }

  async function loadProblems() {
    var filters = formValues($("problem-filters"));
    say("Loading problems…");
    var answer = await api("GET", "/admin/api/problems", { state: filters.state || "open" });
    var rows = (answer.problems || []).slice().sort(function (a, b) { return (a.state === "open" ? 0 : 1) - (b.state === "open" ? 0 : 1); });
    clear($("problems")).appendChild(table(rows, [
      ["Severity", function (r) { return r.severity; }],
      ["Kind", function (r) { return r.kind; }],
      ["Subject", function (r) { return r.subject; }],
      ["What", function (r) { return el("div", null, [el("div", { text: r.summary }), el("div", { className: "hint", text: r.detail })]); }],
      ["Since", function (r) { return when(r.openedAt); }],
      ["Last seen", function (r) { return when(r.lastSeenAt) + (r.count > 1 ? " (" + r.count + "×)" : ""); }],
      ["State", function (r) { return r.state === "open" ? "open" : "resolved " + when(r.resolvedAt); }],
      ["", function (r) { return placeLink(r); }],
      ["", function (r) { return r.state === "open" ? resolveForm(r) : ""; }],
    ], function (row, tr) { tr.className = row.state === "open" ? row.severity : "resolved"; }));
    var open = rows.filter(function (r) { return r.state === "open"; }).length;
    say(rows.length + " problem(s), " + open + " open", open > 0);
    await countProblems();
  }

  // ---- jobs -----------------------------------------------------------------------------------------------------

  async function loadJobs() {
    var answer = await api("GET", "/admin/api/jobs");
    var jobs = answer.jobs || [];
    var late = jobs.filter(function (job) { return job.state === "late"; });
    var banner = clear($("late-jobs"));
    if (late.length) {
      banner.appendChild(document.createTextNode("Cron job late: " + late.map(function (job) {
        var last = job.runs && job.runs[0];
        var why = last && last.status === "failed" ? "last run failed" : job.lateByMs === null ? "never ran" : "overdue by " + ago(job.lateByMs);
        return job.name + " (" + why + ")";
      }).join(", ") + ". Check the Worker's cron triggers and the job's last error."));
    }
    show(banner, late.length > 0);
    say(jobs.length + " jobs" + (late.length ? ", " + late.length + " late" : ""), late.length > 0);
    clear($("jobs")).appendChild(table(jobs, [
      ["Job", function (r) { return r.name; }],
      ["Cron", function (r) { return r.cron; }],
      ["State", function (r) { return r.state === "late" ? "LATE" : "ok"; }],
      ["Last start", function (r) { return when(r.runs && r.runs[0] ? r.runs[0].startedAt : null); }],
      ["Duration", function (r) { var run = r.runs && r.runs[0]; return run && run.durationMs !== null ? run.durationMs + " ms" : "\u2014"; }],
      ["Counts", function (r) { return text(r.runs && r.runs[0] ? r.runs[0].counts : null); }],
      ["Last error", function (r) { var failed = (r.runs || []).filter(function (run) { return run.error; })[0]; return failed ? when(failed.startedAt) + " " + failed.error : "\u2014"; }],
      ["", function (r) { return el("button", { type: "button", text: "Run now", onclick: guarded(function () { return runJob(r.name); }) }); }],
    ], function (row, tr) { if (row.state === "late") tr.className = "late"; }));
  }

  async function runJob(name) {
    say("Running " + name + "\u2026");
    var answer = await api("POST", "/admin/api/jobs/" + encodeURIComponent(name) + "/run");
    say(name + ": " + answer.run.status + (answer.run.error ? " \u2014 " + answer.run.error : ""), answer.run.status === "failed");
    await loadJobs();
  }

  // ---- wiring ---------------------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    $("sign-in-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", function () { signOut(""); });
    document.querySelectorAll(".tab").forEach(function (tab) { tab.addEventListener("click", function () { selectTab(tab.dataset.tab); }); });
    $("instance-filters").addEventListener("submit", guarded(function () { return loadInstances(false); }));
    $("instances-more").addEventListener("click", guarded(function () { return loadInstances(true); }));
    $("usage-filters").addEventListener("submit", guarded(loadUsage));
    $("delivery-filters").addEventListener("submit", guarded(loadDeliveries));
    $("jobs-refresh").addEventListener("click", guarded(loadJobs));
    $("problem-filters").addEventListener("submit", guarded(loadProblems));
    if (token()) enter();
    else signOut("");
  });
})();
`.replace("__PROBLEM_PLACES__", JSON.stringify(PLACE));
