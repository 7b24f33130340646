import { env, exports } from "cloudflare:workers";
import type { IRequest } from "itty-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { failedRequest, finishRequest, startRequest } from "../../src/observability/request-log";
import { makeNewInstance, readAnswer, signedV2Request, uniqueId } from "../support/marketplace";
import { sellerRequest } from "../support/seller-api";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Line = Record<string, unknown> & { event: string; level: string };

/** Every JSON log line written while `run` runs, from console.log, .warn and .error. */
async function logsOf<T>(run: () => Promise<T>): Promise<{ result: T; lines: Line[] }> {
  const lines: Line[] = [];
  const capture = (level: string) => (text: unknown) => {
    const parsed = JSON.parse(String(text)) as Line;
    lines.push({ ...parsed, level });
  };
  vi.spyOn(console, "log").mockImplementation(capture("info"));
  vi.spyOn(console, "warn").mockImplementation(capture("warn"));
  vi.spyOn(console, "error").mockImplementation(capture("error"));
  const result = await run();
  vi.restoreAllMocks();
  return { result, lines };
}

const requestLines = (lines: Line[], requestId: string | null) => lines.filter((line) => line.event === "request" && line.requestId === requestId);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("x-request-id", () => {
  it("is on a Marketplace callback's answer, whose Body-Sign still verifies over the unchanged body", async () => {
    const { result: response, lines } = await logsOf(() => exports.default.fetch(signedV2Request(makeNewInstance({ testFlag: "1" }))));
    const requestId = response.headers.get("x-request-id");
    expect(requestId).toMatch(UUID);
    const answer = await readAnswer(response, env.SAAS_ACCESS_KEY);
    expect(answer.json.resultCode).toBe("000000");
    expect(answer.bodySignValid).toBe(true);
    // One line for the request, with the callback's facts in it.
    expect(requestLines(lines, requestId)).toEqual([
      expect.objectContaining({ level: "info", method: "POST", route: "/saas", status: 200, endpoint: "v2-basic", activity: "newInstance", resultCode: "000000", ms: expect.any(Number) }),
    ]);
  });

  it("a real purchase writes one log line in all, with what its actor did in it", async () => {
    const { result: response, lines } = await logsOf(() => exports.default.fetch(signedV2Request(makeNewInstance())));
    const answer = await readAnswer(response, env.SAAS_ACCESS_KEY);
    expect(answer.json.resultCode).toBe("000000");
    expect(lines).toEqual([
      expect.objectContaining({
        event: "request",
        status: 200,
        activity: "newInstance",
        resultCode: "000000",
        actor: "instance.created",
        instanceId: answer.json.instanceId,
        instanceStatus: "active",
        orderKnown: true,
      }),
    ]);
  });

  it("is on a refused callback's answer, with the result code and reason in the log line", async () => {
    const request = signedV2Request(makeNewInstance(), { signature: "0".repeat(64) });
    const { result: response, lines } = await logsOf(() => exports.default.fetch(request));
    const requestId = response.headers.get("x-request-id");
    const answer = await readAnswer(response, env.SAAS_ACCESS_KEY);
    expect(answer.json.resultCode).toBe("000001");
    expect(answer.bodySignValid).toBe(true);
    expect(requestLines(lines, requestId)).toEqual([expect.objectContaining({ level: "warn", route: "/saas", status: 200, resultCode: "000001", refused: expect.any(String) })]);
  });

  it("is the cf-ray id when Cloudflare gave one", async () => {
    const ray = "8c5f1e2d3a4b5c6d-SJC";
    const request = signedV2Request(makeNewInstance({ testFlag: "1" }));
    request.headers.set("cf-ray", ray);
    const { result: response, lines } = await logsOf(() => exports.default.fetch(request));
    expect(response.headers.get("x-request-id")).toBe(ray);
    expect((await readAnswer(response, env.SAAS_ACCESS_KEY)).bodySignValid).toBe(true);
    expect(requestLines(lines, ray)).toHaveLength(1);
  });

  it("is a fresh id when cf-ray is not a ray id", async () => {
    const response = await exports.default.fetch("https://gateway.test/healthz", { headers: { "cf-ray": "not a ray <id>" } });
    expect(response.headers.get("x-request-id")).toMatch(UUID);
  });

  it("differs between requests", async () => {
    const ids = await Promise.all([1, 2, 3].map(async () => (await exports.default.fetch("https://gateway.test/healthz")).headers.get("x-request-id")));
    expect(new Set(ids).size).toBe(3);
  });

  it("is on a seller API answer, and its log line names the route's pattern, not the id in the path", async () => {
    const instanceId = uniqueId("NOSUCH");
    const { result: response, lines } = await logsOf(() => exports.default.fetch(sellerRequest(`/api/v1/instances/${instanceId}`)));
    expect(response.status).toBe(404);
    const requestId = response.headers.get("x-request-id");
    expect(requestId).toMatch(UUID);
    expect(requestLines(lines, requestId)).toEqual([expect.objectContaining({ method: "GET", route: "/api/v1/instances/:id", status: 404 })]);
    expect(JSON.stringify(lines)).not.toContain(instanceId);
  });

  it("is on a seller API answer refused for its token", async () => {
    const response = await exports.default.fetch(sellerRequest("/api/v1/instances", { token: "wrong" }));
    expect(response.status).toBe(401);
    expect(response.headers.get("x-request-id")).toMatch(UUID);
  });

  it("is on a 404 of an unknown path, logged as route *", async () => {
    const { result: response, lines } = await logsOf(() => exports.default.fetch("https://gateway.test/no/such/thing?token=abc"));
    expect(response.status).toBe(404);
    const requestId = response.headers.get("x-request-id");
    expect(requestId).toMatch(UUID);
    expect(requestLines(lines, requestId)).toEqual([expect.objectContaining({ route: "*", status: 404 })]);
    expect(JSON.stringify(lines)).not.toContain("no/such");
  });

  it("is on admin answers: the API with and without the token, and the page", async () => {
    const authorised = await exports.default.fetch("https://gateway.test/admin/api/health", { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } });
    expect(authorised.status).toBe(200);
    expect(authorised.headers.get("x-request-id")).toMatch(UUID);
    const refused = await exports.default.fetch("https://gateway.test/admin/api/health");
    expect(refused.status).toBe(401);
    expect(refused.headers.get("x-request-id")).toMatch(UUID);
    const page = await exports.default.fetch("https://gateway.test/admin");
    expect(page.status).toBe(200);
    expect(page.headers.get("x-request-id")).toMatch(UUID);
  });

  it("never puts the admin or seller token into the log line", async () => {
    const { lines } = await logsOf(async () => {
      await exports.default.fetch("https://gateway.test/admin/api/health", { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } });
      await exports.default.fetch(sellerRequest("/api/v1/instances"));
    });
    expect(lines.filter((line) => line.event === "request")).toHaveLength(2);
    const text = JSON.stringify(lines);
    expect(text).not.toContain(env.ADMIN_TOKEN);
    expect(text).not.toContain(env.SELLER_API_TOKEN);
  });
});

describe("the router's hooks", () => {
  const request = (headers: Record<string, string> = {}) => Object.assign(new Request("https://gateway.test/x", { headers }), { route: "/x" }) as unknown as IRequest;

  it("answer an unexpected throw with a 500 that carries the id, and log it as an error", async () => {
    const traced = request({ "cf-ray": "abc123-FRA" });
    startRequest(traced);
    const { result: response, lines } = await logsOf(async () => finishRequest(failedRequest(new TypeError("boom")), traced));
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "internal error" });
    expect(response.headers.get("x-request-id")).toBe("abc123-FRA");
    expect(lines).toEqual([expect.objectContaining({ level: "error", event: "request", requestId: "abc123-FRA", route: "/x", status: 500, error: "TypeError", message: "boom" })]);
  });

  it("stamp the id on a response whose headers cannot change, keeping its body", async () => {
    const traced = request();
    startRequest(traced);
    const frozen = Response.redirect("https://gateway.test/elsewhere", 302);
    const { result: response } = await logsOf(async () => finishRequest(frozen, traced));
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("https://gateway.test/elsewhere");
    expect(response.headers.get("x-request-id")).toMatch(UUID);
  });
});
