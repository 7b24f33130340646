import { afterEach, describe, expect, it, vi } from "vitest";
import { SCANNED_SECRETS, TEST_SECRETS } from "../../vitest.config";
import { LogSecretScan, findSecrets, redact, scanList } from "../setup/log-secret-scan";

const list = scanList(SCANNED_SECRETS);
const consoleLine = (content: string, type: "stdout" | "stderr" = "stdout") => ({ content, type, time: Date.now(), size: content.length });

describe("the log secret scan", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("scans for every test secret the Worker runs with, and the passwords and client secrets tests use", () => {
    const scanned = list.map(([, value]) => value);
    for (const [name, value] of Object.entries(TEST_SECRETS)) {
      if (value !== "") expect(scanned, name).toContain(value);
    }
    expect(scanned).toEqual(expect.arrayContaining(["S3cret!pass", "s3cr3t-value", "tenant-app-client-secret-Zx9!"]));
    // The webhook secret's key alone (without "whsec_") is caught too.
    expect(scanned).toContain(TEST_SECRETS.SELLER_WEBHOOK_SECRET.slice("whsec_".length));
  });

  it("finds a planted secret anywhere in a line, names it, and never repeats its value", () => {
    const line = JSON.stringify({ level: "error", event: "job.failed", error: `signing with ${TEST_SECRETS.MARKETPLACE_SK} failed` });
    const hits = findSecrets(`first line\n${line}`, list, "here");
    expect(hits).toEqual([{ name: "MARKETPLACE_SK", line: expect.stringContaining("[MARKETPLACE_SK]"), origin: "here" }]);
    expect(hits[0]?.line).not.toContain(TEST_SECRETS.MARKETPLACE_SK);
    expect(hits[0]?.line).not.toContain("first line");
  });

  it("finds an admin token, a bearer header and a password", () => {
    expect(findSecrets(`authorization: Bearer ${TEST_SECRETS.ADMIN_TOKEN}`, list).map((hit) => hit.name)).toEqual(["ADMIN_TOKEN"]);
    expect(findSecrets('{"password":"S3cret!pass"}', list).map((hit) => hit.name)).toEqual(["test password"]);
  });

  it("passes the gateway's ordinary log lines", () => {
    const lines = [
      '{"level":"info","event":"request","requestId":"8c5f1e2d3a4b5c6d-SJC","method":"POST","route":"/saas","status":200,"ms":3,"resultCode":"000000"}',
      '{"level":"info","event":"job.finished","job":"usagePush","runId":7,"counts":{"sent":3},"ms":40}',
    ];
    for (const line of lines) expect(findSecrets(line, list)).toEqual([]);
  });

  it("redacts every secret of a line, the longer one first when one contains another", () => {
    const both = `${TEST_SECRETS.SELLER_WEBHOOK_SECRET} and ${TEST_SECRETS.SAAS_ACCESS_KEY}`;
    expect(redact(both, list)).toBe("[SELLER_WEBHOOK_SECRET] and [SAAS_ACCESS_KEY]");
  });

  it("as a reporter, fails the run (exit code 1) on a hit and prints the line redacted", () => {
    const previous = process.exitCode;
    const written: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const reporter = new LogSecretScan(SCANNED_SECRETS);
      reporter.onUserConsoleLog(consoleLine('{"level":"info","event":"request","status":200}'));
      reporter.onUserConsoleLog(consoleLine(`{"level":"warn","detail":"token ${TEST_SECRETS.SELLER_API_TOKEN} refused"}`, "stderr"));
      process.exitCode = 0;
      reporter.onTestRunEnd([], [], "passed");
      expect(process.exitCode).toBe(1);
      expect(reporter.hits).toHaveLength(1);
      const report = written.join("");
      expect(report).toContain("LOG SECRET SCAN FAILED: 1 log line(s)");
      expect(report).toContain("[SELLER_API_TOKEN]");
      expect(report).not.toContain(TEST_SECRETS.SELLER_API_TOKEN);
    } finally {
      process.exitCode = previous;
    }
  });

  it("as a reporter, leaves a clean run alone", () => {
    const previous = process.exitCode;
    try {
      const reporter = new LogSecretScan(SCANNED_SECRETS);
      reporter.onUserConsoleLog(consoleLine('{"level":"info","event":"request","status":404}'));
      process.exitCode = 0;
      reporter.onTestRunEnd([], [], "passed");
      expect(process.exitCode).toBe(0);
    } finally {
      process.exitCode = previous;
    }
  });
});
