CREATE TABLE `usage_events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` text NOT NULL,
	`instance_id` text NOT NULL,
	`quantity_units` integer NOT NULL,
	`event_time` integer NOT NULL,
	`received_at` integer NOT NULL,
	`record_sn` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `usage_events_event_id_uq` ON `usage_events` (`event_id`);--> statement-breakpoint
CREATE INDEX `usage_events_unrolled_idx` ON `usage_events` (`instance_id`,`event_time`) WHERE record_sn IS NULL;--> statement-breakpoint
CREATE INDEX `usage_events_record_idx` ON `usage_events` (`record_sn`);--> statement-breakpoint
CREATE TABLE `usage_records` (
	`metering_sn` text PRIMARY KEY NOT NULL,
	`instance_id` text NOT NULL,
	`product_id` text,
	`period` text NOT NULL,
	`period_begin` integer NOT NULL,
	`begin_time` integer NOT NULL,
	`end_time` integer NOT NULL,
	`cover_from` integer NOT NULL,
	`cover_to` integer NOT NULL,
	`usage_units` integer NOT NULL,
	`usage_value` text NOT NULL,
	`event_count` integer NOT NULL,
	`late_units` integer NOT NULL,
	`correction_of` text,
	`state` text NOT NULL,
	`attempts` integer NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`deadline` integer NOT NULL,
	`warn_at` integer NOT NULL,
	`lease_owner` text,
	`lease_until` integer,
	`first_sent_at` integer,
	`last_sent_at` integer,
	`resolved_at` integer,
	`reject_code` text,
	`reject_message` text,
	`last_error` text,
	`rollup_token` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `usage_records_instance_period_uq` ON `usage_records` (`instance_id`,`period_begin`);--> statement-breakpoint
CREATE INDEX `usage_records_due_idx` ON `usage_records` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `usage_records_deadline_idx` ON `usage_records` (`state`,`deadline`);--> statement-breakpoint
CREATE INDEX `usage_records_rollup_idx` ON `usage_records` (`rollup_token`);