import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/** `npm run dev` takes its port from PORT (default 8787), and the simulator follows the same variable. */
const root = path.join(import.meta.dirname, "../..");
const scripts = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

// A stand-in wrangler on PATH that prints its arguments, so the script runs through sh exactly as npm runs it.
const bin = mkdtempSync(path.join(tmpdir(), "dev-port-"));
writeFileSync(path.join(bin, "wrangler"), '#!/bin/sh\nprintf "%s\\n" "$@"\n');
chmodSync(path.join(bin, "wrangler"), 0o755);
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function devArguments(extraEnv: Record<string, string>): string[] {
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}`, ...extraEnv };
  if (!("PORT" in extraEnv)) Reflect.deleteProperty(env, "PORT");
  return execFileSync("sh", ["-c", scripts.dev ?? ""], { env, encoding: "utf8" }).trim().split("\n");
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

  it("still migrates the local database first (predev)", () => {
    expect(scripts.predev).toContain("npm run db:migrate:local");
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
