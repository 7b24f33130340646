import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { settleBackgroundWork } from "../../support/background-work";
import { createInstance } from "../../support/marketplace";
import { specBodySign } from "../../support/spec-signatures";
import { installChangeLog, takeChanges } from "./change-log";
import { type AnswerShape, type IdPool, fuzzInterfaces } from "./fuzz-interfaces";
import { type CaseSpec, buildRequest } from "./fuzz-requests";
import { FUZZ_RUNS_PER_INTERFACE, PROPERTY_TIMEOUT_MS, profile, seed } from "./profile";

/*
 * Property-based fuzzing of every route's input (bodies, headers, query strings; random, and mutated from valid
 * signed requests). For every case: no 5xx and no internal-error result code, no error logged, the answer has its
 * route's shape, and a refused request leaves every D1 table exactly as it was (support/change-log.ts: triggers
 * record every row written, so the check costs the same at the 10,000th case as at the first).
 */

/**
 * One share of the fuzzed interfaces (every `parts`-th, from `part`), so the interfaces spread over as many test files
 * (and vitest workers, one per core) as there are shares; each file has its own D1 and Durable Objects.
 */
export function fuzzSuite(part: number, parts: number): void {
  const pool: IdPool = { instanceIds: [] };
  const errors: string[] = [];

  beforeAll(async () => {
    await installChangeLog();
    // Real and debug instances for lifecycle calls to act on; random ids cover the unknown ones.
    for (const overrides of [{}, {}, { testFlag: "1" }]) pool.instanceIds.push((await createInstance(overrides)).instanceId);
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      errors.push(args.map(String).join(" "));
    });
  });

  afterAll(() => {
    vi.restoreAllMocks();
  });

  function isJson(response: Response): boolean {
    return /^application\/json/.test(response.headers.get("content-type") ?? "");
  }

  /** Checks the answer's shape; returns whether the request was refused (so must have stored nothing). */
  function checkAnswer(shape: AnswerShape, response: Response, text: string): boolean {
    expect(response.status, text).toBeLessThan(500 + (shape.kind === "health" ? 4 : 0));
    switch (shape.kind) {
      case "marketplace": {
        expect(response.status).toBe(200);
        expect(isJson(response)).toBe(true);
        const json = JSON.parse(text) as { resultCode?: unknown; resultMsg?: unknown };
        expect(json.resultCode).toMatch(/^\d{6}$/);
        expect(typeof json.resultMsg).toBe("string");
        // 000005 is the Marketplace routes' 5xx: an error the gateway did not expect.
        expect(json.resultCode, text).not.toBe("000005");
        expect(response.headers.get("Body-Sign")).toBe(specBodySign(String(env[shape.key]), text));
        return json.resultCode === "000001" || json.resultCode === "000002";
      }
      case "json-api": {
        expect(isJson(response), text).toBe(true);
        const json = JSON.parse(text) as { error?: unknown };
        if (response.status >= 400) expect(typeof json.error, text).toBe("string");
        return response.status >= 400;
      }
      case "health": {
        const json = JSON.parse(text) as { status?: unknown };
        expect(response.status === 503 ? "degraded" : "ok").toBe(json.status);
        return true;
      }
      case "static":
        expect(response.status, text).toBe(200);
        expect(text.length).toBeGreaterThan(0);
        return true;
      case "not-found":
        expect(response.status).toBe(404);
        expect(isJson(response)).toBe(true);
        return true;
    }
  }

  /**
   * Tables a refused request may write, and why. `problems`: a call that passed its signature check and was refused
   * for its body (000002) is a failed Marketplace call the operator must see (callback.failed, README "Problems");
   * only such verified calls can write it. (Rate-limit counters live in a Durable Object, not D1.)
   */
  const MAY_CHANGE_WHEN_REFUSED: ReadonlySet<string> = new Set<string>(["problems"]);

  /** Whether background work was due after the last case: the next one waits for it, so its writes are not counted. */
  let settling = true;

  async function runCase(shape: AnswerShape, spec: CaseSpec): Promise<void> {
    if (settling) {
      await settleBackgroundWork(2_000);
      await takeChanges();
    }
    errors.length = 0;
    const response = await exports.default.fetch(buildRequest(spec));
    const text = await response.text();
    // One round trip per case: what this case wrote (every case's writes are taken, so the next starts from none).
    const written = await takeChanges();
    settling = written.due > 0;
    const refused = checkAnswer(shape, response, text);
    expect(errors, "errors logged").toEqual([]);
    if (!refused) return;
    const stored = Object.fromEntries(Object.entries(written.tables).filter(([table]) => !MAY_CHANGE_WHEN_REFUSED.has(table)));
    expect(stored, `refused (${response.status} ${text.slice(0, 200)}) but stored`).toEqual({});
  }

  describe(`fuzzing every route, share ${part + 1} of ${parts} (${profile} profile: ${FUZZ_RUNS_PER_INTERFACE} cases per interface)`, () => {
    for (const fuzzed of fuzzInterfaces(pool).filter((_, index) => index % parts === part)) {
      it(
        fuzzed.name,
        async ({ task }) => {
          let cases = 0;
          await fc.assert(
            fc.asyncProperty(fuzzed.cases, (spec) => {
              cases += 1;
              return runCase(fuzzed.answer, spec);
            }),
            { numRuns: FUZZ_RUNS_PER_INTERFACE, ...(seed === undefined ? {} : { seed }), endOnFailure: true },
          );
          // Printed at the end of the run by support/summary-reporter.ts.
          task.meta.fuzzCases = cases;
        },
        PROPERTY_TIMEOUT_MS,
      );
    }
  });
}
