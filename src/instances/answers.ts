import type { Dialect, Outcome } from "./commands";

/** Answer bytes for an outcome. Deterministic, so a stored answer and a recomputed one never differ. */
export function answerText(dialect: Dialect, outcome: Outcome): string {
  switch (dialect) {
    case "v2":
    case "v1":
      return JSON.stringify(
        outcome.instanceId === undefined
          ? { resultCode: outcome.resultCode, resultMsg: outcome.resultMsg }
          : { resultCode: outcome.resultCode, resultMsg: outcome.resultMsg, instanceId: outcome.instanceId },
      );
    default: {
      const unhandled: never = dialect;
      throw new Error(`unknown dialect ${String(unhandled)}`);
    }
  }
}
