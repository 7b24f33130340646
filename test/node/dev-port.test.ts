import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/**
 * `npm run dev` (tools/dev/main.ts) takes its port from PORT (default 8787), migrates the local D1 before it starts
 * wrangler, and the simulator follows the same variable.
 */
const root = path.join(import.meta.dirname, "../..");
const scripts = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

// A stand-in wrangler on PATH that prints its arguments, so the script runs through sh exactly as npm runs it.
const bin = mkdtempSync(path.join(tmpdir(), "dev-port-"));
const calls = path.join(bin, "calls.log");
writeFileSync(path.join(bin, "wrangler"), `#!/bin/sh\nprintf "%s\\n" "$@"\necho "$*" >> "${calls}"\n`);
chmodSync(path.join(bin, "wrangler"), 0o755);
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function devArguments(extraEnv: Record<string, string>): string[] {
  // No fake Marketplace, no crons, and a settings file that does not exist: nothing of the developer's is touched.
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}`, DEV_FAKES: "0", DEV_CRONS: "0", ...extraEnv };
  if (!("PORT" in extraEnv)) Reflect.deleteProperty(env, "PORT");
  const command = `${scripts.dev ?? ""} --env-file ${path.join(bin, "none.vars")}`;
  return execFileSync("sh", ["-c", command], { cwd: root, env, encoding: "utf8" }).trim().split("\n");
}

function portsIn(args: string[]): string[] {
  return args.flatMap((arg, i) => (arg === "--port" ? [args[i + 1] ?? ""] : []));
}

describe("npm run dev port", () => {
  it("is 8787 by default", () => {
    expect(portsIn(devArguments({}))).toEqual(["8787"]);
  });

  it("is PORT when set, given once", () => {
    expect(portsIn(devArguments({ PORT: "8788" }))).toEqual(["8788"]);
  });

  it("migrates the local database before it starts wrangler dev", () => {
    writeFileSync(calls, "");
    devArguments({});
    const invocations = readFileSync(calls, "utf8").trim().split("\n");
    expect(invocations[0]).toMatch(/^d1 migrations apply DB --local/);
    expect(invocations[1]).toMatch(/^dev /);
  });

  it("is where the simulator sends its calls when PORT is set", async () => {
    const hits: string[] = [];
    const server = createServer((socket) => {
      socket.once("data", (chunk) => {
        hits.push(chunk.toString("utf8").split("\r\n")[0] ?? "");
        socket.end("HTTP/1.1 500 No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const child = spawn("sh", ["-c", `${scripts.simulate ?? ""} --key k --suite v2`], {
        cwd: root,
        env: { ...process.env, PORT: String(port) },
        stdio: "ignore",
      });
      await new Promise((resolve) => child.on("exit", resolve));
    } finally {
      server.close();
    }
    expect(hits[0]).toMatch(/^POST \/saas\?signature=/);
  }, 60_000);
});
