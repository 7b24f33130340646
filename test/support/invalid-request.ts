import { expect } from "vitest";
import { InvalidRequestError } from "../../src/protocol/errors";

/**
 * The message of the InvalidRequestError (000002) that `fn` throws; fails the test when it throws nothing, and rethrows
 * any other error. With `maxLength`, the message must also fit in that many characters.
 */
export function invalidRequestMessage(fn: () => unknown, options: { maxLength?: number } = {}): string {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    expect(error.code).toBe("000002");
    if (options.maxLength !== undefined) expect(error.message.length).toBeLessThanOrEqual(options.maxLength);
    return error.message;
  }
  throw new Error("expected an InvalidRequestError");
}
