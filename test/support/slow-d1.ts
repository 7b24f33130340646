import { env } from "cloudflare:workers";
import { vi } from "vitest";

type Batch = D1Database["batch"];

/**
 * D1 under load, the one platform condition these tests simulate: every `batch` (an actor's one write per change)
 * waits `delayMs` before it runs, fails once without writing (`failOnce`) or once after writing (`lostAnswerOnce`). The tests and the Durable Objects run in one isolate
 * and share the D1 binding's class, so patching its prototype reaches the actors; reads (`prepare().first()`, `all()`)
 * are untouched. Undo with vi.restoreAllMocks().
 */
export function slowD1Batches(delayMs: number, options: { failOnce?: Error; lostAnswerOnce?: Error } = {}): { batches: () => number } {
  const proto = Object.getPrototypeOf(env.DB) as { batch: Batch };
  const original = proto.batch;
  let count = 0;
  let failure = options.failOnce;
  let lostAnswer = options.lostAnswerOnce;
  const slow = async function (this: D1Database, statements: D1PreparedStatement[]) {
    count += 1;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (failure) {
      const error = failure;
      failure = undefined;
      throw error;
    }
    const results = await original.call(this, statements);
    if (lostAnswer) {
      // The batch was written; only its answer never came back.
      const error = lostAnswer;
      lostAnswer = undefined;
      throw error;
    }
    return results;
  };
  vi.spyOn(proto, "batch").mockImplementation(slow as Batch);
  return { batches: () => count };
}
