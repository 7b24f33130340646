import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { settleBackgroundWork } from "../../support/background-work";
import { createInstance } from "../../support/marketplace";
import { specBodySign } from "../../support/spec-signatures";
import { installChangeLog, takeChanges } from "./change-log";
import { type AnswerShape, type IdPool, fuzzInterfaces } from "./fuzz-interfaces";
import { type CaseSpec, buildRequest } from "./fuzz-requests";
import { type SsoPool, emptySsoPool, isSsoInterface, prepareSso } from "./fuzz-sso";
import { FUZZ_BUDGETED, FUZZ_RUNS_PER_INTERFACE, FUZZ_SHARE_MINUTES, PROPERTY_TIMEOUT_MS, only, profile, seed } from "./profile";

/*
 * Property-based fuzzing of every route's input (bodies, headers, query strings; random, and mutated from valid
 * signed requests). For every case: no 5xx and no internal-error result code, no error logged, the answer has its
 * route's shape, and a refused request leaves every D1 table exactly as it was (support/change-log.ts: triggers
 * record every row written, so the check costs the same at the 10,000th case as at the first). In the full profile each
 * share fuzzes within a time budget (support/profile.ts says why), and the summary prints how many cases each got.
 */

/**
 * One share of the fuzzed interfaces (every `parts`-th, from `part`), so the interfaces spread over as many test files
 * (and vitest workers, one per core) as there are shares; each file has its own D1 and Durable Objects.
 */
export function fuzzSuite(part: number, parts: number): void {
  const pool: IdPool = { instanceIds: [] };
  const sso: SsoPool = emptySsoPool();
  const share = fuzzInterfaces(pool, sso).filter((fuzzed, index) => index % parts === part && (only === undefined || fuzzed.name.includes(only)));
  const errors: string[] = [];
  /** When this share's fuzzing must end (full profile): each interface gets an equal part of what is left. */
  let shareDeadline = Number.POSITIVE_INFINITY;

  beforeAll(async () => {
    await installChangeLog();
    // Real and debug instances for lifecycle calls to act on; random ids cover the unknown ones.
    for (const overrides of [{}, {}, { testFlag: "1" }]) pool.instanceIds.push((await createInstance(overrides)).instanceId);
    if (share.some(isSsoInterface)) await prepareSso(sso);
    if (FUZZ_BUDGETED) shareDeadline = Date.now() + FUZZ_SHARE_MINUTES * 60_000;
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
        if (shape.csv && response.ok && /^text\/csv/.test(response.headers.get("content-type") ?? "")) return false;
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
      case "oidc": {
        if (response.status === 302) {
          const location = response.headers.get("location");
          expect(location, "a redirect without Location").toBeTruthy();
          return new URL(location ?? "").searchParams.has("error");
        }
        if (isJson(response)) {
          const json = JSON.parse(text) as { error?: unknown };
          if (response.status >= 400) expect(typeof json.error, text).toBe("string");
        } else {
          expect(response.headers.get("content-type"), text).toMatch(/^text\/html/);
        }
        return response.status >= 400;
      }
    }
  }

  /**
   * What a refused request may write, per table and operation, and why. `problems`: a call that passed its signature
   * check and was refused for its body (000002) is a failed Marketplace call the operator must see (callback.failed,
   * README "Problems"); only such verified calls can write it. `oidc_states`, `oidc_grants`: the single-use
   * bookkeeping of sign-in states and codes: a state is spent when the IdP's answer comes back even if the sign-in
   * then fails, a code used a second time revokes what it issued, and expired ones are purged (RFC 6749 §4.1.2, §10.5);
   * never a new row. (Rate-limit counters live in a Durable Object, not D1.)
   */
  const MAY_CHANGE_WHEN_REFUSED: Readonly<Record<string, ReadonlySet<string>>> = {
    problems: new Set(["insert", "update", "delete"]),
    oidc_states: new Set(["update", "delete"]),
    oidc_grants: new Set(["update", "delete"]),
  };

  /** What was written beyond the named exceptions. */
  function storedBeyondExceptions(tables: Record<string, Record<string, number>>): Record<string, Record<string, number>> {
    const stored: Record<string, Record<string, number>> = {};
    for (const [table, ops] of Object.entries(tables)) {
      for (const [op, count] of Object.entries(ops)) if (!MAY_CHANGE_WHEN_REFUSED[table]?.has(op)) (stored[table] ??= {})[op] = count;
    }
    return stored;
  }

  /** Whether background work was due after the last case: the next one waits for it, so its writes are not counted. */
  let settling = true;

  /** Cases of the current interface that were not refused: how far past the checks the fuzzer reaches. */
  let accepted = 0;

  async function runCase(shape: AnswerShape, spec: CaseSpec, send: (request: Request) => Promise<Response>): Promise<void> {
    if (settling) {
      await settleBackgroundWork(2_000);
      await takeChanges();
    }
    errors.length = 0;
    const response = await send(buildRequest(spec));
    const text = await response.text();
    // One round trip per case: what this case wrote (every case's writes are taken, so the next starts from none).
    const written = await takeChanges();
    settling = written.due > 0;
    const refused = checkAnswer(shape, response, text);
    expect(errors, "errors logged").toEqual([]);
    // Routes that never write (health, documents, unknown routes) answer "refused" to be checked for writes every time.
    const readOnly = shape.kind === "health" || shape.kind === "static" || shape.kind === "not-found";
    if (readOnly ? response.ok : !refused) accepted += 1;
    if (!refused) return;
    const stored = storedBeyondExceptions(written.tables);
    expect(stored, `refused (${response.status} ${text.slice(0, 200)}) but stored`).toEqual({});
  }

  const limit = FUZZ_BUDGETED ? `up to ${FUZZ_RUNS_PER_INTERFACE} cases per interface in ${FUZZ_SHARE_MINUTES} min` : `${FUZZ_RUNS_PER_INTERFACE} cases per interface`;
  describe(`fuzzing every route, share ${part + 1} of ${parts} (${profile} profile: ${limit})`, () => {
    share.forEach((fuzzed, index) => {
      it(
        fuzzed.name,
        async ({ task }) => {
          let cases = 0;
          accepted = 0;
          if (fuzzed.prepare) {
            await fuzzed.prepare();
            // What preparing wrote is not the first case's.
            settling = true;
          }
          const send = fuzzed.send ?? ((request: Request) => exports.default.fetch(request));
          const budget = FUZZ_BUDGETED ? Math.max(1_000, (shareDeadline - Date.now()) / (share.length - index)) : undefined;
          // fast-check stops waiting for the case running when the budget ends; that case still runs to its end (and to
          // its checks) here, so its writes are not taken for the next interface's.
          let running: Promise<void> | undefined;
          await fc.assert(
            fc.asyncProperty(fuzzed.cases, (spec) => {
              cases += 1;
              running = runCase(fuzzed.answer, spec, send);
              return running;
            }),
            {
              numRuns: FUZZ_RUNS_PER_INTERFACE,
              ...(seed === undefined ? {} : { seed }),
              // Past its budget an interface stops with the cases it ran (counted below), not as a failure.
              ...(budget === undefined ? {} : { interruptAfterTimeLimit: budget, markInterruptAsFailure: false }),
              endOnFailure: true,
            },
          );
          await running;
          // Printed at the end of the run by support/summary-reporter.ts.
          task.meta.fuzzCases = cases;
          task.meta.fuzzAccepted = accepted;
        },
        PROPERTY_TIMEOUT_MS,
      );
    });
  });
}
