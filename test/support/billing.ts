import { afterEach, beforeEach, vi } from "vitest";
import { HOUR_MS } from "../../src/billing/periods";
import { FakeMarketplace, clearLedger, createPayPerUseInstance, setClock, testDay } from "../billing/support";

/*
 * Set-up shared by the billing tests (ingest, roll-up, push, reconciliation): the per-test hooks and a fresh day with
 * its clock set. The fake Marketplace, the clock and the ledger helpers themselves are in test/billing/support.ts.
 */

/**
 * Registers the hooks of a billing test file: before each test a new FakeMarketplace installed as fetch and an empty
 * ledger; after it real timers and no mocks. Returns the running test's fake (a new one for every test).
 */
export function useFakeMarketplace(): () => FakeMarketplace {
  let fake: FakeMarketplace | undefined;
  beforeEach(async () => {
    fake = new FakeMarketplace().install();
    await clearLedger();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
  return () => {
    if (!fake) throw new Error("useFakeMarketplace: no test is running");
    return fake;
  };
}

/** A day of the test's own (testDay) with the clock set to its 00:00; `h10` is its 10:00. */
export function startDay(): { day: number; h10: number } {
  const day = testDay();
  setClock(day);
  return { day, h10: day + 10 * HOUR_MS };
}

/** startDay, then one pay-per-use instance created at its 00:00. */
export async function startDayWithInstance(fake: FakeMarketplace): Promise<{ day: number; h10: number; instanceId: string }> {
  const { day, h10 } = startDay();
  const { instanceId } = await createPayPerUseInstance(fake);
  return { day, h10, instanceId };
}
