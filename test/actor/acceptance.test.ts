import { describe, expect, it } from "vitest";
import { decideBy } from "../../src/actor/acceptance";

/** Unhandled rejections of the isolate while `run` goes on: workerd logs them as "Uncaught (in promise)". */
async function unhandledDuring(run: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onUnhandled = (event: PromiseRejectionEvent) => {
    seen.push(event.reason);
    event.preventDefault();
  };
  addEventListener("unhandledrejection", onUnhandled);
  try {
    await run();
    // Let the late failure and the runtime's unhandled-rejection check both happen.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    removeEventListener("unhandledrejection", onUnhandled);
  }
  return seen;
}

describe("decideBy", () => {
  it("a call dropped at its deadline whose work fails later leaves no unhandled rejection", async () => {
    const unhandled = await unhandledDuring(async () => {
      const decision = await decideBy(Date.now(), async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        throw new Error("D1_ERROR: the write after the deadline failed");
      });
      expect(decision).toEqual({ kind: "dropped" });
    });
    expect(unhandled).toEqual([]);
  });

  it("an accepted call whose work fails after the deadline answers with what it was accepted with", async () => {
    const unhandled = await unhandledDuring(async () => {
      const decision = await decideBy(Date.now() + 5, async (acceptance) => {
        acceptance.accept("accepted");
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error("write failed");
      });
      expect(decision).toEqual({ kind: "accepted", answer: "accepted" });
    });
    expect(unhandled).toEqual([]);
  });

  it("a failure before the deadline of a call not accepted is the call's failure", async () => {
    await expect(decideBy(Date.now() + 1_000, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  });
});
