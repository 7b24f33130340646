/**
 * How long a Marketplace callback may take before it is answered, in one place (docs/lifecycle-rules.md rule 20).
 * The Marketplace waits 5 s (interface §2.1; its debugging FAQ says 20 s, the requirement pages 5 s: the shorter one
 * holds). Every budget is counted from the request's arrival and leaves at least a second of those 5 s for what
 * happens around it: the network both ways, the signature check and parsing before, the answer's signing after.
 */
export const PLATFORM_TIMEOUT_MS = 5_000;

export const ANSWER_BUDGET = {
  /**
   * newInstance, and queryInstance: past this, `000004` ("processing"), which for a create is the spec's own answer
   * (§3.1): the purchase goes on in the background and the Marketplace polls queryInstance. Query order, asked first,
   * gets `ORDER_FIRST_TIMEOUT_MS` of it.
   */
  create: { answerMs: 2_500 },
  /**
   * Every other call an actor applies (refreshInstance, updateInstanceStatus, releaseInstance, upgradeInstance,
   * changeInstanceCheck, their V1 forms, kit syncs), which the Marketplace retries for an hour at most, or never:
   * `000004` there reads as a failure. By `decideMs` the actor has either accepted the call (its change is recorded
   * in the actor's own storage and will be applied whatever D1 does: `000000`) or dropped it unapplied (`000005`,
   * nothing stored, so a retry or the seller centre's restart sends it again). The caller waits `answerMs` for that
   * decision to cross back; an actor silent that long is answered `000005` too.
   */
  change: { decideMs: 3_000, answerMs: 4_000 },
} as const;
