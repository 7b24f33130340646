/** The alert robot's URL bound for the simulated day (vitest.reliability.config.ts); the day's fetch mock answers it. */
export const ALERT_WEBHOOK_URL_UNDER_TEST = "https://alerts.test/robot";
