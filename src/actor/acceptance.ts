/**
 * Whether a Marketplace call was taken on in time (src/dialects/answer-budget.ts). Decided exactly once: by the call's
 * work, right before its first durable write (`accept`), or by its deadline, which drops a call not accepted yet. Both
 * happen on the actor's one thread, so neither can slip between the other's check and its effect.
 */
export class Acceptance<T> {
  private state: "open" | "accepted" | "dropped" = "open";
  private answer: T | undefined;

  /** False when the deadline has dropped the call: the work must then write nothing. Accepting twice is harmless. */
  accept(answer: T): boolean {
    if (this.state === "dropped") return false;
    if (this.state === "open") {
      this.state = "accepted";
      this.answer = answer;
    }
    return true;
  }

  get dropped(): boolean {
    return this.state === "dropped";
  }

  /** The answer the call was accepted with, if it was. */
  get accepted(): { answer: T } | undefined {
    return this.state === "accepted" ? { answer: this.answer as T } : undefined;
  }

  /** At the deadline: the accepted answer, or the call is dropped. */
  decideNow(): { answer: T } | undefined {
    if (this.state === "open") this.state = "dropped";
    return this.accepted;
  }
}

export type Decision<T> =
  /** The work finished in time: its own answer. */
  | { kind: "done"; answer: T }
  /** Accepted, still being written when the deadline came: the answer it was accepted with. */
  | { kind: "accepted"; answer: T }
  /** Not accepted by the deadline: nothing was or will be written. */
  | { kind: "dropped" };

/**
 * Runs `work` and decides by `deadline`. An accepted call's work goes on after the deadline, and its later failure is
 * no failure of the call: the caller records the accepted change durably before writing it, and applies it again.
 */
export async function decideBy<T>(deadline: number, work: (acceptance: Acceptance<T>) => Promise<T>): Promise<Decision<T>> {
  const acceptance = new Acceptance<T>();
  const finished = work(acceptance).then(
    (answer): Decision<T> => (acceptance.dropped ? { kind: "dropped" } : { kind: "done", answer }),
    (error: unknown): Decision<T> => {
      const accepted = acceptance.accepted;
      if (accepted) return { kind: "accepted", answer: accepted.answer };
      throw error;
    },
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<Decision<T>>((resolve) => {
    timer = setTimeout(() => {
      const accepted = acceptance.decideNow();
      resolve(accepted ? { kind: "accepted", answer: accepted.answer } : { kind: "dropped" });
    }, Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([finished, expired]);
  } finally {
    clearTimeout(timer);
  }
}
