-- Hand-written for issue 9 (hygiene); matches src/db/schema (drizzle-kit not run, the lead consolidates migrations).
ALTER TABLE `usage_records` ADD `events_purged_at` integer;--> statement-breakpoint
CREATE INDEX `usage_records_purge_idx` ON `usage_records` (`state`,`resolved_at`) WHERE events_purged_at IS NULL;--> statement-breakpoint
CREATE INDEX `inbox_interface_received_idx` ON `inbox` (`interface`,`received_at`);--> statement-breakpoint
CREATE INDEX `job_runs_started_idx` ON `job_runs` (`started_at`);
