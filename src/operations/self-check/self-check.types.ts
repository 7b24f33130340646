/** The check names of docs/seller-contract.md "Operations", in the order a run lists them. */
export const CHECK_NAMES = [
  "settings",
  "marketplace.credentials",
  "interface.saas",
  "interface.kit",
  "interface.license",
  "interface.orders",
  "interface.v1",
  "seller.webhook",
  "jobs",
  "public_url",
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/** The checks that leave no trace anywhere: the hourly cron runs these; the interface.* checks join them daily and on demand. */
export const TRACELESS_CHECKS: readonly CheckName[] = ["settings", "marketplace.credentials", "seller.webhook", "jobs", "public_url"];

export type SelfCheckScope = "hourly" | "full";

/** What one check found: `detail` for a person (ids and codes, never a key), `fix` what to do when it failed. */
export interface CheckOutcome {
  ok: boolean;
  skipped?: true;
  detail: string;
  fix?: string;
}

export interface CheckResult extends CheckOutcome {
  name: CheckName;
  ms: number;
}

export interface SelfCheckRun {
  /** Every check that was not skipped passed. */
  ok: boolean;
  ranAt: string;
  durationMs: number;
  checks: CheckResult[];
}

export const passed = (detail: string): CheckOutcome => ({ ok: true, detail });
export const failed = (detail: string, fix: string): CheckOutcome => ({ ok: false, detail, fix });
export const skipped = (detail: string): CheckOutcome => ({ ok: true, skipped: true, detail });
