import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const PAGE = ["/admin", "/admin/", "/admin/app.js", "/admin/app.css"];
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
  });

  it("serves each file with its own content type", async () => {
    expect((await get("/admin")).headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect((await get("/admin/app.js")).headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect((await get("/admin/app.css")).headers.get("content-type")).toBe("text/css; charset=utf-8");
  });

  it("loads only its own script and style sheet, and has no inline script, style or handler", async () => {
    const html = await (await get("/admin")).text();
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0])).toEqual(['<script src="/admin/app.js" defer>']);
    expect([...html.matchAll(/<link\b[^>]*>/g)].map((match) => match[0])).toEqual(['<link rel="icon" href="data:,">', '<link rel="stylesheet" href="/admin/app.css">']);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).toMatch(/<script src="\/admin\/app\.js" defer><\/script>/);
  });

  it("refers to no external URL in the page, the script or the style sheet", async () => {
    for (const path of ["/admin", "/admin/app.js", "/admin/app.css"]) {
      const text = await (await get(path)).text();
      expect(text, path).not.toMatch(/https?:|\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
      // CSS ways to fetch something (lower case: the script's own `new URL(` builds same-origin API paths).
      expect(text, path).not.toMatch(/url\(|@import/);
    }
  });

  it("builds the DOM from data with textContent only: the script never parses data as HTML", async () => {
    const script = await (await get("/admin/app.js")).text();
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|setTimeout\(\s*["']/);
    expect(script).toContain("textContent");
    // The token lives in sessionStorage only.
    expect(script).toContain("sessionStorage");
    expect(script).not.toMatch(/localStorage|document\.cookie/);
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
    expect((await get("/admin/app.ts")).status).toBe(404);
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
    // Every kind's place, from the one table in src/operations/problem-kinds.ts.
    expect(script).toContain('"job.stale":"jobs"');
    expect(script).not.toContain("__PROBLEM_PLACES__");
  });
});
