import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseUrl } from "../../tools/conformance/client";
import type { CaseResult } from "../../tools/conformance/framework";
import { UsageError, parseArguments, run } from "../../tools/conformance/main";
import { loadSettings, parseEnvFile } from "../../tools/conformance/settings";

// Node on a busy machine takes seconds to start: the command-line cases get their own time limits.
/*
 * The conformance runner judged against gateways that are wrong on purpose: it must pass what is right and report
 * exactly what is wrong (the end-to-end stage, .ci/e2e.sh, runs it against the real gateway under `npm run dev`).
 */

const root = path.join(import.meta.dirname, "../..");
const KEY = "runner-test-saas-key";
const dir = mkdtempSync(path.join(tmpdir(), "conformance-runner-"));
const envFile = path.join(dir, "settings.vars");
writeFileSync(envFile, `SAAS_ACCESS_KEY="${KEY}"\nKIT_ACCESS_KEY=""\nENABLE_V1="false"\n`);

type Behaviour = "accept-everything" | "sign-with-another-key" | "html-errors" | "all-routes";

/** A "gateway" that answers every V2 call with success, signed per `behaviour`; only "all-routes" has /license and /orders. */
function fakeGateway(behaviour: Behaviour) {
  let lastInstance = "i-1";
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.on("data", (chunk: Buffer) => (raw += chunk.toString("utf8")));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname !== "/saas" && !(behaviour === "all-routes" && (url.pathname === "/license" || url.pathname === "/orders"))) {
        res.writeHead(404, { "Content-Type": "text/plain" }).end("no such route");
        return;
      }
      if (behaviour === "html-errors") {
        res.writeHead(500, { "Content-Type": "text/html" }).end("<h1>Internal Server Error</h1>");
        return;
      }
      const body = JSON.parse(raw) as { activity: string; instanceId?: string };
      if (body.instanceId) lastInstance = body.instanceId.split(",")[0] ?? lastInstance;
      const answer = JSON.stringify({
        resultCode: "000000",
        resultMsg: "success",
        instanceId: body.activity === "newInstance" ? "i-1" : undefined,
        info: body.activity === "queryInstance" ? [{ instanceId: lastInstance, appInfo: { frontEndUrl: "https://app.example.com/t/i-1" } }] : undefined,
      });
      const key = behaviour === "sign-with-another-key" ? "not-the-key" : KEY;
      const signature = createHmac("sha256", key).update(answer).digest("base64");
      res.writeHead(200, { "Content-Type": "application/json", "Body-Sign": `sign_type="HMAC-SHA256", signature="${signature}"` }).end(answer);
    });
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const servers: Server[] = [];
const urls: Partial<Record<Behaviour, string>> = {};
beforeAll(async () => {
  for (const behaviour of ["accept-everything", "sign-with-another-key", "html-errors", "all-routes"] as const) {
    const server = fakeGateway(behaviour);
    servers.push(server);
    urls[behaviour] = await listen(server);
  }
});
afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function runAgainst(behaviour: Behaviour, suite: string): Promise<{ failed: number; cases: CaseResult[] }> {
  const options = parseArguments(["--url", `${urls[behaviour]}/saas`, "--suite", suite, "--env-file", envFile, "--seed", "7"]);
  const { failed, report } = await run(options, () => {});
  return { failed, cases: (report as { cases: CaseResult[] }).cases };
}

describe("conformance runner against a gateway that accepts everything", () => {
  it("passes every valid case and its repeat, and fails exactly the refusals (bad signature, stale, replay, wrong key, unsigned)", async () => {
    const { failed, cases } = await runAgainst("accept-everything", "v2");
    const failing = cases.filter((c) => c.status === "fail");
    expect(failing.map((c) => c.name).sort()).toEqual(
      [
        "refused: bad signature",
        "refused: no signature",
        "refused: replayed nonce",
        "refused: signed with another key",
        "refused: stale timestamp",
        "refused: timestamp in the future",
      ].sort(),
    );
    expect(failed).toBe(failing.length);
    for (const c of failing) expect(c.problems.join(" ")).toMatch(/resultCode 000000, expected 000001/);
    expect(cases.filter((c) => c.status === "ok").map((c) => c.name)).toEqual(expect.arrayContaining(["newInstance", "newInstance (repeat)", "releaseInstance (random order)"]));
  });

  it("reports a route the deployment does not serve as one clear failure per suite", async () => {
    const { failed, cases } = await runAgainst("accept-everything", "license,orders");
    expect(failed).toBe(2);
    expect(cases.map((c) => [c.suite, c.problems[0]])).toEqual([
      ["license", expect.stringMatching(/^POST \/license answered HTTP 404: this deployment does not serve license callbacks/)],
      ["orders", expect.stringMatching(/^POST \/orders answered HTTP 404: this deployment does not serve order notifications/)],
    ]);
  });

  it("license and orders suites, where served: every valid case passes and exactly the refusals fail", async () => {
    const { cases } = await runAgainst("all-routes", "license,orders");
    const failing = cases.filter((c) => c.status === "fail").map((c) => `${c.suite}: ${c.name}`);
    const refusals = ["refused: bad signature", "refused: replayed nonce", "refused: signed with another key", "refused: stale timestamp"];
    expect(failing.sort()).toEqual([...refusals.map((r) => `license: ${r}`), ...refusals.map((r) => `orders: ${r}`)].sort());
    expect(cases.filter((c) => c.status === "ok").map((c) => c.name)).toEqual(
      expect.arrayContaining(["getLicenseAsync", "getLicenseAsync on /saas (repeat)", "releaseLicenseCode (random order)", "orderNotify (repeat)"]),
    );
    expect(new Set(cases.filter((c) => c.suite === "license").map((c) => c.request))).toEqual(new Set(["POST /license", "POST /saas"]));
  });

  it("skips the V1 suite when ENABLE_V1 is false in the settings", async () => {
    const { failed, cases } = await runAgainst("accept-everything", "v1");
    expect(failed).toBe(0);
    expect(cases).toEqual([expect.objectContaining({ suite: "v1", status: "skip" })]);
  });
});

describe("conformance runner against broken answers", () => {
  it("fails every case whose Body-Sign was made with another key", async () => {
    const { cases } = await runAgainst("sign-with-another-key", "v2");
    expect(cases.length).toBeGreaterThan(20);
    for (const c of cases) {
      expect({ name: c.name, status: c.status }).toEqual({ name: c.name, status: "fail" });
      expect(c.problems.join("; ")).toContain("Body-Sign does not verify with this interface's key");
    }
  });

  it("fails HTML error pages on HTTP status, content type and body", async () => {
    const { cases } = await runAgainst("html-errors", "v2");
    const first = cases[0];
    expect(first?.problems).toEqual(["HTTP 500", 'Content-Type "text/html" (must be application/json)', "body is not a JSON object: <h1>Internal Server Error</h1>"]);
    expect(cases.every((c) => c.status === "fail")).toBe(true);
  });
});

describe("npm run simulate (the command line)", () => {
  const simulate = (args: string): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const scripts = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
      execFile("sh", ["-c", `${scripts.simulate ?? ""} ${args}`], { cwd: root }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
    });

  it("exits 1 on a failed case, prints one line per case and a summary, and writes the JSON report", async () => {
    const report = path.join(dir, "report.json");
    const { code, stdout } = await simulate(`--url ${urls["accept-everything"]} --suite v2 --env-file ${envFile} --seed 11 --json ${report}`);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^ok {3}v2 +newInstance +\d+ ms/m);
    expect(stdout).toMatch(/^FAIL v2 +refused: replayed nonce/m);
    expect(stdout).toMatch(/\d+ passed, 6 failed, 0 skipped \(seed 11;/);
    const written = JSON.parse(readFileSync(report, "utf8")) as { seed: number; summary: { failed: number }; cases: CaseResult[] };
    expect(written).toMatchObject({ seed: 11, summary: { failed: 6 } });
    expect(JSON.stringify(written)).not.toContain(KEY);
  }, 120_000);

  it("exits 2 on a wrong command line or missing key", async () => {
    expect((await simulate("--suite nope")).code).toBe(2);
    expect((await simulate(`--url ftp://x --env-file ${envFile}`)).code).toBe(2);
    const empty = path.join(dir, "empty.vars");
    writeFileSync(empty, "# nothing\n");
    const noKey = await simulate(`--env-file ${empty}`);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/SAAS_ACCESS_KEY is not set/);
  }, 120_000);
});

describe("runner settings and arguments", () => {
  it("reads the gateway's setting names with its fallback to SAAS_ACCESS_KEY", () => {
    const file = path.join(dir, "fallback.vars");
    writeFileSync(file, 'SAAS_ACCESS_KEY="s"\nKIT_ACCESS_KEY=""\nLICENSE_ACCESS_KEY=l # comment\nV1_ENCRYPT_TYPE=\'2\'\n');
    const settings = loadSettings(file, {});
    expect(settings.keys).toEqual({ saas: "s", kit: "s", license: "l", general: "s" });
    expect(settings.v1EncryptType).toBe("2");
    expect(loadSettings(file, { GENERAL_ACCESS_KEY: "from-env" }).keys.general).toBe("from-env");
  });

  it("parses quoted multi-line values as dotenv does", () => {
    expect(parseEnvFile('A="one\\ntwo"\nexport B=plain\n# C=no\nD="say \\"hi\\""')).toEqual({ A: "one\ntwo", B: "plain", D: 'say "hi"' });
  });

  it("takes the production address or the bare host", () => {
    expect(baseUrl("https://gw.example.com/saas")).toBe("https://gw.example.com");
    expect(baseUrl("https://gw.example.com/saas/")).toBe("https://gw.example.com");
    expect(baseUrl("https://gw.example.com/")).toBe("https://gw.example.com");
    expect(baseUrl("https://gw.example.com/prefix/saas?x=1")).toBe("https://gw.example.com/prefix");
  });

  it("accepts suite lists and all, and refuses unknown flags", () => {
    expect(parseArguments(["--suite", "kit,v2"]).suites).toEqual(["kit", "v2"]);
    expect(parseArguments([]).suites).toEqual(["v2", "v1", "kit", "license", "orders", "sso"]);
    expect(parseArguments(["--url=http://h:1", "--seed=5"])).toMatchObject({ url: "http://h:1", seed: 5 });
    expect(parseArguments(["--real"]).suites).toEqual(["v2"]);
    expect(() => parseArguments(["--real", "--suite", "all"])).toThrow(/v2 suite only/);
    expect(() => parseArguments(["--verbose"])).toThrow(UsageError);
    expect(() => parseArguments(["--seed", "-1"])).toThrow(UsageError);
  });

  it("reads the walkthrough flags: --keep needs a real purchase, --on-demand is a kept real one, --wait is positive", () => {
    expect(parseArguments(["--real", "--keep"])).toMatchObject({ real: true, keep: true, onDemand: false, waitSeconds: 30 });
    expect(parseArguments(["--on-demand"])).toMatchObject({ real: true, keep: true, onDemand: true, suites: ["v2"] });
    expect(parseArguments(["--real", "--wait", "300"]).waitSeconds).toBe(300);
    expect(parseArguments(["--help"]).help).toBe(true);
    expect(() => parseArguments(["--keep"])).toThrow(/real purchase/);
    expect(() => parseArguments(["--real", "--wait", "0"])).toThrow(/positive/);
  });
});
