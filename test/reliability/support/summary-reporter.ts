import type { Reporter, TestModule } from "vitest/node";

declare module "vitest" {
  interface TaskMeta {
    /** Cases a fuzz property ran (test/reliability/support/fuzz-suite.ts). */
    fuzzCases?: number;
    /** Of those, the cases the route did not refuse. */
    fuzzAccepted?: number;
    /** What a simulated run did (test/reliability/faults/day-at-scale.test.ts): calls, faults, problems, time. */
    runSummary?: string;
  }
}

/**
 * The reliability run's last lines: cases per fuzzed interface, each test's time, and the whole run's. Test logs are
 * silenced for passing tests, so the counts travel as test metadata instead of console lines.
 */
export class ReliabilitySummary implements Reporter {
  private started = Date.now();

  onTestRunStart(): void {
    this.started = Date.now();
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const lines: string[] = [];
    let cases = 0;
    let tests = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        tests += 1;
        const fuzzCases = test.meta().fuzzCases;
        if (fuzzCases !== undefined) cases += fuzzCases;
        const ms = test.diagnostic()?.duration ?? 0;
        const fuzzed = fuzzCases !== undefined ? `${fuzzCases} cases (${test.meta().fuzzAccepted ?? 0} accepted, ${(ms / Math.max(fuzzCases, 1)).toFixed(1)} ms each)  ` : "";
        lines.push(`  ${test.result().state.padEnd(7)} ${(ms / 1000).toFixed(1).padStart(7)} s  ${fuzzed}${test.fullName}`);
        const runSummary = test.meta().runSummary;
        if (runSummary !== undefined) lines.push(`          ${runSummary}`);
      }
    }
    const minutes = ((Date.now() - this.started) / 60_000).toFixed(1);
    console.log(`\nreliability: ${cases} fuzz cases, ${tests} tests, ${minutes} min\n${lines.join("\n")}`);
  }
}
