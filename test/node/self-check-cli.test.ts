import { spawn } from "node:child_process";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CommandError, parseArguments, run } from "../../tools/self-check/self-check";

/* npm run self-check against a small local HTTP server that answers as the gateway does. */

const TOKEN = "cli-admin-token";

const RUN = {
  ok: false,
  ranAt: "2026-12-06T10:00:00.000Z",
  durationMs: 2147,
  checks: [
    { name: "settings", ok: true, ms: 3, detail: "every setting is valid" },
    { name: "marketplace.credentials", ok: false, ms: 120, detail: "query order of MOCKPERIODYEARNEW failed: APIGW.0301", fix: "set MARKETPLACE_AK and MARKETPLACE_SK" },
    { name: "public_url", ok: true, skipped: true, ms: 0, detail: "nothing needs PUBLIC_URL yet" },
  ],
};

let server: Server | undefined;
const seen: Array<{ method: string; url: string; authorization: string | undefined }> = [];

async function gateway(answer: (authorized: boolean) => { status: number; body: unknown }): Promise<string> {
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization });
    const { status, body } = answer(req.headers.authorization === `Bearer ${TOKEN}`);
    res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  seen.length = 0;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe("npm run self-check", () => {
  it("POSTs the self-check with the admin token and prints a checklist; a failed check exits 1", async () => {
    const url = await gateway((authorized) => (authorized ? { status: 200, body: RUN } : { status: 401, body: { error: "no" } }));
    const lines: string[] = [];
    const code = await run(parseArguments(["--url", `${url}/`, "--admin-token", TOKEN]), (line) => lines.push(line));
    expect(code).toBe(1);
    expect(seen).toEqual([{ method: "POST", url: "/admin/api/self-check", authorization: `Bearer ${TOKEN}` }]);
    expect(lines[0]).toMatch(/FAILED \(1 passed, 1 failed, 1 skipped; 2147 ms\)/);
    expect(lines.slice(1).join("\n")).toMatch(/^✓ settings .*every setting is valid\n✗ marketplace\.credentials .*APIGW\.0301\n +fix: set MARKETPLACE_AK and MARKETPLACE_SK\n– public_url .*nothing needs PUBLIC_URL yet$/);
  });

  it("exits 0 when every check passed or was skipped, as a child process on the project's Node", async () => {
    const passing = { ...RUN, ok: true, checks: RUN.checks.filter((c) => c.ok) };
    const url = await gateway(() => ({ status: 200, body: passing }));
    const child = spawn(process.execPath, ["--experimental-strip-types", "--no-warnings", "tools/self-check/self-check.ts", "--url", url, "--admin-token", TOKEN], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(0);
    expect(out).toContain("✓ settings");
    expect(out).toContain("OK (1 passed, 0 failed, 1 skipped");
  });

  it("a refused token is a clear 401 message, not a checklist", async () => {
    const url = await gateway(() => ({ status: 401, body: { error: "missing or invalid admin bearer token" } }));
    await expect(run(parseArguments(["--url", url, "--admin-token", "wrong"]), () => undefined)).rejects.toThrow(/refused the token \(401\).*ADMIN_TOKEN/);
  });

  it("a network error names the address and asks whether the gateway runs", async () => {
    const url = await gateway(() => ({ status: 200, body: RUN }));
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    const error = await run(parseArguments(["--url", url, "--admin-token", TOKEN]), () => undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect(String(error)).toMatch(new RegExp(`could not reach ${url}/admin/api/self-check.*is it running`));
  });

  it("refuses a missing --url or token, and an answer that is not a run", async () => {
    expect(() => parseArguments([], {})).toThrow(/--url is required/);
    expect(() => parseArguments(["--url", "http://x"], {})).toThrow(/--admin-token is required/);
    expect(parseArguments(["--url", "http://x"], { ADMIN_TOKEN: "from-env" }).adminToken).toBe("from-env");
    const url = await gateway(() => ({ status: 404, body: { error: "no such route" } }));
    await expect(run(parseArguments(["--url", url, "--admin-token", TOKEN]), () => undefined)).rejects.toThrow(/HTTP 404: no such route/);
  });
});
