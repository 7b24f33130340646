-- Billing edges (issue 9, items 7–11). Hand-written to match src/db/schema/billing.ts and instances.ts; the lead
-- consolidates it with drizzle-kit.
ALTER TABLE `usage_events` ADD `not_billed` text;--> statement-breakpoint
DROP INDEX IF EXISTS `usage_events_unrolled_idx`;--> statement-breakpoint
CREATE INDEX `usage_events_unrolled_idx` ON `usage_events` (`instance_id`,`event_time`) WHERE record_sn IS NULL AND not_billed IS NULL;--> statement-breakpoint
ALTER TABLE `usage_records` ADD `deliveries` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_records` ADD `expiry_check` text;--> statement-breakpoint
DROP INDEX IF EXISTS `usage_records_due_idx`;--> statement-breakpoint
CREATE INDEX `usage_records_claim_idx` ON `usage_records` (`deadline`,`metering_sn`) WHERE state IN ('pending', 'sent');--> statement-breakpoint
CREATE INDEX `usage_records_expiry_check_idx` ON `usage_records` (`deadline`) WHERE expiry_check = 'due';--> statement-breakpoint
CREATE INDEX `usage_records_period_idx` ON `usage_records` (`instance_id`,`begin_time`,`end_time`);--> statement-breakpoint
CREATE INDEX `audit_events_status_change_idx` ON `audit_events` (`instance_id`,`at`) WHERE from_status IS NOT to_status;
