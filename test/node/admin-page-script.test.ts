import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const folder = path.join(import.meta.dirname, "../../public/admin");
const modules = readdirSync(folder).filter((name) => name.endsWith(".js"));
const source = (name: string) => readFileSync(path.join(folder, name), "utf8");
const run = promisify(execFile);

describe("the admin page's script modules (public/admin/*.js)", () => {
  it.each(modules)("%s is a valid ES module for Node's parser (the browser gets the file as it is)", async (name) => {
    await expect(run(process.execPath, ["--check", path.join(folder, name)])).resolves.toBeDefined();
  });

  it("are type-checked: each starts with // @ts-check (tsconfig.page.json checks them in npm run check)", () => {
    for (const name of modules) expect(source(name).startsWith("// @ts-check\n"), name).toBe(true);
    const config = readFileSync(path.join(import.meta.dirname, "../../tsconfig.page.json"), "utf8");
    expect(config).toContain('"checkJs": true');
    const scripts = JSON.parse(readFileSync(path.join(import.meta.dirname, "../../package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(scripts.scripts.check).toContain("tsc -p tsconfig.page.json");
  });

  it("call only the admin API of their own origin, through one fetch", () => {
    const all = modules.map(source).join("\n");
    const paths = [...all.matchAll(/(?:api|request)\("(?:GET|POST)", "([^"]*)"/g)].map((match) => match[1] ?? "");
    expect(paths.length).toBeGreaterThan(5);
    for (const apiPath of paths) expect(apiPath).toMatch(/^\/admin\/api\//);
    expect(all).toContain('return "/admin/api/statements/" + encodeURIComponent(period);');
    expect(all.match(/\bfetch\(/g)).toHaveLength(1);
    expect(all).toContain("new URL(path, location.origin)");
  });
});
