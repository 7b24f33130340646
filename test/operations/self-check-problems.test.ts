import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { QUERY_ORDER_PATH } from "../../src/marketplace-api/order.api";
import { noteAnsweredCall } from "../../src/operations/callback-problems";
import { SELF_CHECK_PROPS } from "../../src/operations/self-check/context";
import { runSelfCheck } from "../../src/operations/self-check/self-check";
import { scheduledJobs } from "../../src/schedule";
import { mockFetch } from "../marketplace-api/fetch-mock";
import { queryOrderInfo } from "../support/orders";
import { adminGet } from "../support/admin";

interface ProblemRow {
  kind: string;
  subject: string;
  state: string;
  count: number;
  summary: string;
}

async function problems(state: "open" | "all" = "all"): Promise<ProblemRow[]> {
  const answer = await adminGet(`/admin/api/problems?state=${state}`);
  return (answer.json as unknown as { problems: ProblemRow[] }).problems;
}

const selfCheckProblem = async (subject: string) => (await problems()).filter((problem) => problem.kind === "self_check.failed" && problem.subject === subject);

/** The Marketplace refuses the keys until `recovered` is set; everything else answers as a healthy outside world. */
function marketplace(state: { recovered: boolean }): void {
  mockFetch((request) => {
    if (request.url.pathname !== QUERY_ORDER_PATH) return new Response("ok");
    if (!state.recovered) return Response.json({ error_code: "APIGW.0301", error_msg: "Incorrect IAM authentication information" }, { status: 401 });
    return Response.json({ resultCode: "MKT.0000", resultMsg: "success", orderInfo: queryOrderInfo(request.url.searchParams.get("orderId") ?? "") });
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("self_check.failed", () => {
  it("opens per failed check, counts a repeat on it, and resolves once that check passes again", async () => {
    const state = { recovered: false };
    marketplace(state);
    const hourly = () => runSelfCheck(env, Date.now(), { scope: "hourly", jobs: scheduledJobs() });

    await hourly();
    const [opened] = await selfCheckProblem("marketplace.credentials");
    expect(opened).toMatchObject({ state: "open", count: 1 });
    expect(opened?.summary).toContain("APIGW.0301");

    await hourly();
    expect(await selfCheckProblem("marketplace.credentials")).toMatchObject([{ state: "open", count: 2 }]);

    state.recovered = true;
    await hourly();
    expect(await selfCheckProblem("marketplace.credentials")).toMatchObject([{ state: "resolved", count: 2 }]);
  });

  it("a run that leaves a check out (the hourly one skips the interface checks) neither opens nor resolves its problem", async () => {
    marketplace({ recovered: true });
    const before = await selfCheckProblem("interface.saas");
    const run = await runSelfCheck(env, Date.now(), { scope: "hourly", jobs: scheduledJobs() });
    expect(run.checks.find((check) => check.name === "interface.saas")?.skipped).toBe(true);
    expect(await selfCheckProblem("interface.saas")).toEqual(before);
  });

  it("a failed answer to the self-check's own in-process call opens no callback.failed; the same answer to the Marketplace does", async () => {
    const answered = { endpoint: "v2-basic", activity: "releaseInstance", resultCode: "000003", resultMsg: "instance does not exist", instanceId: "self-check-props-probe" };
    const contextOf = (props: unknown) => {
      const pending: Array<Promise<unknown>> = [];
      const ctx = { waitUntil: (promise: Promise<unknown>) => void pending.push(promise), passThroughOnException: () => undefined, props } as unknown as ExecutionContext;
      return { ctx, settled: () => Promise.all(pending) };
    };
    const selfCheck = contextOf(SELF_CHECK_PROPS);
    noteAnsweredCall(env, selfCheck.ctx, answered, Date.now());
    await selfCheck.settled();
    expect((await problems()).filter((problem) => problem.subject === answered.instanceId)).toEqual([]);

    const marketplaceCall = contextOf({});
    noteAnsweredCall(env, marketplaceCall.ctx, answered, Date.now());
    await marketplaceCall.settled();
    expect((await problems()).filter((problem) => problem.subject === answered.instanceId)).toMatchObject([{ kind: "callback.failed", state: "open" }]);
  });
});
