import { type Answer, type Prepared, send } from "./client";
import { codeProblems, snippet, transportProblems } from "./checks";
import type { RunnerSettings } from "./settings";

export const SUITES = ["v2", "v1", "kit", "license", "orders", "sso"] as const;
export type SuiteName = (typeof SUITES)[number];

export interface CaseResult {
  suite: SuiteName;
  name: string;
  status: "ok" | "fail" | "skip";
  problems: string[];
  ms: number;
  resultCode: string | null;
  /** Method and path of the (last) request, never its signature or body. */
  request: string | null;
}


export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/**
 * A debug case as the Marketplace saves it: the same form values every time it is played, freshly signed on each
 * send (`build` runs per send; V2 newInstance also draws a new businessId per send, as the spec says the platform does).
 */
export interface SavedCase {
  name: string;
  build: () => Prepared;
  /** The interface's key: the Body-Sign must verify with it. */
  key: string;
  expect: readonly string[];
  /** Checks of the answer's own fields (instanceId, appInfo …). */
  fields?: (answer: Answer) => string[];
  /** Repeats must be byte-identical (false for answers that carry live state, such as queryInstance). */
  sameText?: boolean;
}

/** What the walkthrough flags ask of the suites (see main.ts USAGE). */
export interface Walkthrough {
  real: boolean;
  keep: boolean;
  onDemand: boolean;
  waitSeconds: number;
}

export class Context {
  readonly results: CaseResult[] = [];
  /** Commands the seller runs next with the ids this run made, printed in full at the end. */
  readonly nextSteps: string[] = [];
  readonly real: boolean;

  constructor(
    readonly base: string,
    readonly settings: RunnerSettings,
    readonly random: () => number,
    readonly walkthrough: Walkthrough,
    private readonly print: (line: string) => void,
  ) {
    this.real = walkthrough.real;
  }

  /** A line for the end of the run: a full id to look at, or the command that takes the walkthrough further. */
  next(step: string): void {
    this.nextSteps.push(step);
  }

  /** A line now, outside the table of cases (a walkthrough waiting on the seller). */
  say(line: string): void {
    this.print(line);
  }

  record(suite: SuiteName, name: string, problems: string[], answer: Answer | null, request: Prepared | null, ms?: number): CaseResult {
    const result: CaseResult = {
      suite,
      name,
      status: problems.length === 0 ? "ok" : "fail",
      problems,
      ms: ms ?? answer?.ms ?? 0,
      resultCode: typeof answer?.json?.resultCode === "string" ? answer.json.resultCode : null,
      request: request ? `${request.method} ${new URL(request.url).pathname}` : null,
    };
    this.results.push(result);
    // The one-line detail never shows a credential, even a debug instance's.
    const detail = problems.length > 0 ? problems.join("; ") : answer ? snippet(answer.text.replace(/"(password|clientSecret)":"[^"]*"/g, '"$1":"…"'), 90) : "";
    this.print(`${result.status === "ok" ? "ok  " : "FAIL"} ${suite.padEnd(7)} ${name.padEnd(46)} ${String(result.ms).padStart(5)} ms  ${detail}`);
    return result;
  }

  skip(suite: SuiteName, name: string, reason: string): void {
    this.results.push({ suite, name, status: "skip", problems: [reason], ms: 0, resultCode: null, request: null });
    this.print(`skip ${suite.padEnd(7)} ${name.padEnd(46)} ${"".padStart(5)}     ${reason}`);
  }

  /** One send of a saved case with every check; the answer is returned for the cases that follow. */
  async play(suite: SuiteName, label: string, saved: SavedCase): Promise<{ answer: Answer; problems: string[] }> {
    const request = saved.build();
    const answer = await send(request);
    const problems = transportProblems(answer, saved.key);
    if (answer.json && !answer.error) problems.push(...codeProblems(answer, saved.expect), ...(saved.fields?.(answer) ?? []));
    this.record(suite, label, problems, answer, request);
    return { answer, problems };
  }

  /** A saved case and its repeat: both must pass, with the same result code (and the same body unless live). */
  async playTwice(suite: SuiteName, saved: SavedCase): Promise<Answer> {
    const first = await this.play(suite, saved.name, saved);
    const request = saved.build();
    const again = await send(request);
    const problems = transportProblems(again, saved.key);
    if (again.json && !again.error) problems.push(...codeProblems(again, saved.expect), ...(saved.fields?.(again) ?? []));
    const [was, now] = [first.answer.json?.resultCode, again.json?.resultCode];
    // 000004 then 000000 is an asynchronous operation finishing between the two sends (spec §3.1, §3.4), not a change of mind.
    const finished = was === "000004" && now === "000000";
    if (was !== now && !finished) problems.push(`repeat answered ${String(now)}, first ${String(was)}`);
    else if (!finished && saved.sameText !== false && first.answer.text !== again.text) problems.push(`repeat answered differently: ${snippet(again.text, 80)}`);
    this.record(suite, `${saved.name} (repeat)`, problems, again, request);
    return first.answer;
  }

  /** The saved cases again, each once, in a seeded random order: the debugger sets no order between them (§8). */
  async playShuffled(suite: SuiteName, saved: readonly SavedCase[]): Promise<void> {
    for (const one of shuffled(saved, this.random)) await this.play(suite, `${one.name} (random order)`, one);
  }

  /** A request the gateway must refuse: HTTP 200, signed answer, and the refusal code (000001 for authentication). */
  async refuse(suite: SuiteName, name: string, request: Prepared, key: string, expect: readonly string[] = ["000001"]): Promise<void> {
    const answer = await send(request);
    const problems = transportProblems(answer, key);
    if (answer.json && !answer.error) problems.push(...codeProblems(answer, expect));
    this.record(suite, name, problems, answer, request);
  }

  /**
   * The same signed bytes twice: the first is served, the second refused as a replay (its nonce was seen). The first
   * must be a request whose repeat would otherwise succeed, so only the nonce can explain a refusal.
   */
  async replay(suite: SuiteName, name: string, request: Prepared, key: string, firstExpect: readonly string[]): Promise<void> {
    const first = await send(request);
    const firstProblems = transportProblems(first, key);
    if (first.json && !first.error) firstProblems.push(...codeProblems(first, firstExpect));
    if (firstProblems.length > 0) {
      this.record(suite, name, firstProblems.map((p) => `first send: ${p}`), first, request);
      return;
    }
    await this.refuse(suite, name, request, key);
  }

  /**
   * Whether a route is served at all: the license and order routes are newer than some deployments. A 404 becomes one
   * clear failure instead of a page of identical ones.
   */
  async served(suite: SuiteName, probe: Prepared, what: string): Promise<boolean> {
    const answer = await send(probe);
    if (answer.status !== 404 && !answer.error) return true;
    const problem = answer.error
      ? `${probe.method} ${new URL(probe.url).pathname}: ${answer.error}; the suite's cases were not run`
      : `${probe.method} ${new URL(probe.url).pathname} answered HTTP 404: this deployment does not serve ${what}; the suite's cases were not run`;
    this.record(suite, `${what} served`, [problem], answer, probe);
    return false;
  }
}
