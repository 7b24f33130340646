import { Script } from "node:vm";
import { describe, expect, it } from "vitest";
import { ADMIN_JS } from "../../src/admin/page/admin-script";

describe("the admin page's script", () => {
  it("is valid JavaScript as served (it is a string in the Worker: nothing else would notice a syntax error)", () => {
    expect(() => new Script(ADMIN_JS, { filename: "app.js" })).not.toThrow();
  });

  it("calls only the admin API of its own origin, through one fetch", () => {
    const paths = [...ADMIN_JS.matchAll(/api\("(?:GET|POST)", "([^"]*)"/g)].map((match) => match[1] ?? "");
    expect(paths.length).toBeGreaterThan(5);
    for (const path of paths) expect(path).toMatch(/^\/admin\/api\//);
    expect(ADMIN_JS.match(/\bfetch\(/g)).toHaveLength(1);
    expect(ADMIN_JS).toContain("new URL(path, location.origin)");
  });
});
