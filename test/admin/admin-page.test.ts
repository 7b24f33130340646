import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

/** The page and every file of public/admin/ it loads (app.js imports the other modules). */
const MODULES = ["/admin/app.js", "/admin/api.js", "/admin/dom.js", "/admin/format.js", "/admin/problem-places.js", "/admin/statement-format.js", "/admin/statements.js"];
const PAGE = ["/admin", "/admin/", ...MODULES, "/admin/app.css"];
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const get = (path: string) => exports.default.fetch(`https://gateway.test${path}`);

describe("GET /admin and its assets", () => {
  it.each(PAGE)("%s answers 200 without a token, with the strict CSP, nosniff and no referrer", async (path) => {
    const response = await get(path);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toBe(CSP);
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    // Served by the Worker (run_worker_first), not by the platform alone: its request id and log line included.
    expect(response.headers.get("x-request-id")).toMatch(/\S/);
  });

  it("serves each file with its own content type", async () => {
    expect((await get("/admin")).headers.get("content-type")).toBe("text/html; charset=utf-8");
    for (const path of MODULES) expect((await get(path)).headers.get("content-type"), path).toBe("text/javascript; charset=utf-8");
    expect((await get("/admin/app.css")).headers.get("content-type")).toBe("text/css; charset=utf-8");
  });

  it("loads only its own script and style sheet, and has no inline script, style or handler", async () => {
    const html = await (await get("/admin")).text();
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0])).toEqual(['<script type="module" src="/admin/app.js">']);
    expect([...html.matchAll(/<link\b[^>]*>/g)].map((match) => match[0])).toEqual(['<link rel="icon" href="data:,">', '<link rel="stylesheet" href="/admin/app.css">']);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).toMatch(/<script type="module" src="\/admin\/app\.js"><\/script>/);
    // Every module app.js imports is one the Worker serves, from this origin (script-src 'self').
    for (const path of MODULES) {
      const script = await (await get(path)).text();
      for (const [, imported] of script.matchAll(/^import .* from "\.\/([a-z-]+\.js)";$/gm)) expect(MODULES, `${path} imports ${imported}`).toContain(`/admin/${imported}`);
    }
  });

  it("refers to no external URL in the page, the script or the style sheet", async () => {
    for (const path of ["/admin", ...MODULES, "/admin/app.css"]) {
      const text = await (await get(path)).text();
      expect(text, path).not.toMatch(/https?:|\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
      // CSS ways to fetch something (lower case: the script's own `new URL(` builds same-origin API paths).
      expect(text, path).not.toMatch(/url\(|@import/);
    }
  });

  it("builds the DOM from data with textContent only: the script never parses data as HTML", async () => {
    const scripts = await Promise.all(MODULES.map(async (path) => (await get(path)).text()));
    for (const script of scripts) {
      // Outside comments: a comment may name what the script never does.
      const code = script.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      expect(code).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|setTimeout\(\s*["']/);
      expect(code).not.toMatch(/localStorage|document\.cookie/);
    }
    expect(scripts.join("\n")).toContain("textContent");
    // The token lives in sessionStorage only.
    expect(scripts.join("\n")).toContain("sessionStorage");
  });

  it("the sign-in form posts an unnamed field: a POST (the form without its script) is sent back to the page, nothing reflected", async () => {
    const html = await (await get("/admin")).text();
    expect(html).toMatch(/<form id="sign-in-form" method="post" action="\/admin"/);
    expect(html).toMatch(/<input type="password" id="token" required/);
    expect(html).not.toMatch(/name="token"/);
    const posted = await exports.default.fetch("https://gateway.test/admin", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "token=secret-typed-in",
      redirect: "manual",
    });
    expect(posted.status).toBe(303);
    expect(posted.headers.get("location")).toBe("/admin");
    expect(await posted.text()).toBe("");
  });

  it("is not served for other methods or under other names", async () => {
    expect((await exports.default.fetch("https://gateway.test/admin", { method: "PUT" })).status).toBe(404);
    for (const path of ["/admin/app.ts", "/admin/index.html", "/admin/missing.js", "/admin/App.js", "/admin/%2e%2e%2fwrangler.toml", "/admin/..%2Fpackage.json", "/admin/sub/app.js"]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(response.headers.get("x-request-id"), path).toMatch(/\S/);
    }
  });
});

describe("the Problems view", () => {
  it("has its tab with the open count, its list and the resolve action", async () => {
    const html = await (await get("/admin")).text();
    expect(html).toMatch(/<button type="button" data-tab="problems" class="tab">Problems <span id="problems-count"/);
    expect(html).toContain('<section id="tab-problems"');
    const script = await (await get("/admin/app.js")).text();
    expect(script).toContain('api("GET", "/admin/api/problems"');
    expect(script).toContain('"/admin/api/problems/" + encodeURIComponent(problem.id) + "/resolve"');
    // Every kind's place (test/node/admin-page-format.test.ts holds it equal to src/operations/problem-kinds.ts).
    expect(await (await get("/admin/problem-places.js")).text()).toContain('"job.stale": "jobs"');
  });
});

describe("the Statements view", () => {
  it("has its tab, the period form, the CSV download and the bill upload", async () => {
    const html = await (await get("/admin")).text();
    expect(html).toContain('<button type="button" data-tab="statements" class="tab">Statements</button>');
    expect(html).toContain('<section id="tab-statements"');
    expect(html).toMatch(/<input name="month" type="month"/);
    expect(html).toContain('id="statement-csv"');
    expect(html).toMatch(/<input name="bill" type="file"/);
    const script = await (await get("/admin/statements.js")).text();
    expect(script).toContain('"/admin/api/statements/" + encodeURIComponent(period)');
    expect(script).toContain('statementPath(period) + "/reconcile"');
  });
});
