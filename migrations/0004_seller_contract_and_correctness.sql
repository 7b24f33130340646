CREATE TABLE `events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`type` text NOT NULL,
	`stream` text NOT NULL,
	`instance_id` text,
	`is_test` integer NOT NULL,
	`body` text NOT NULL,
	`delivery_state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`deliver_by` integer,
	`last_status` integer,
	`last_error` text,
	`delivered_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_id_uq` ON `events` (`id`);--> statement-breakpoint
CREATE INDEX `events_stream_delivery_idx` ON `events` (`stream`,`delivery_state`,`seq`);--> statement-breakpoint
CREATE INDEX `events_due_idx` ON `events` (`delivery_state`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `events_instance_idx` ON `events` (`instance_id`,`seq`);--> statement-breakpoint
CREATE TABLE `kit_org_trees` (
	`instance_id` text NOT NULL,
	`is_test` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`synced_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`instance_id`, `is_test`, `tenant_id`)
);
--> statement-breakpoint
DROP INDEX `usage_records_due_idx`;--> statement-breakpoint
ALTER TABLE `usage_records` ADD `deliveries` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_records` ADD `expiry_check` text;--> statement-breakpoint
ALTER TABLE `usage_records` ADD `events_purged_at` integer;--> statement-breakpoint
CREATE INDEX `usage_records_claim_idx` ON `usage_records` (`deadline`,`metering_sn`) WHERE state IN ('pending', 'sent');--> statement-breakpoint
CREATE INDEX `usage_records_expiry_check_idx` ON `usage_records` (`deadline`) WHERE expiry_check = 'due';--> statement-breakpoint
CREATE INDEX `usage_records_period_idx` ON `usage_records` (`instance_id`,`begin_time`,`end_time`);--> statement-breakpoint
CREATE INDEX `usage_records_purge_idx` ON `usage_records` (`state`,`resolved_at`) WHERE events_purged_at IS NULL;--> statement-breakpoint
DROP INDEX `usage_events_unrolled_idx`;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `not_billed` text;--> statement-breakpoint
CREATE INDEX `usage_events_unrolled_idx` ON `usage_events` (`instance_id`,`event_time`) WHERE record_sn IS NULL AND not_billed IS NULL;--> statement-breakpoint
ALTER TABLE `instances` ADD `period_type` text;--> statement-breakpoint
ALTER TABLE `instances` ADD `period_number` integer;--> statement-breakpoint
ALTER TABLE `instances` ADD `quantity` integer;--> statement-breakpoint
ALTER TABLE `instances` ADD `customer_id` text;--> statement-breakpoint
ALTER TABLE `instances` ADD `customer_name` text;--> statement-breakpoint
ALTER TABLE `instances` ADD `order_known_at` integer;--> statement-breakpoint
ALTER TABLE `instances` ADD `frozen_reason` text;--> statement-breakpoint
ALTER TABLE `instances` ADD `failure_code` text;--> statement-breakpoint
ALTER TABLE `instances` ADD `memo` text;--> statement-breakpoint
CREATE INDEX `instances_list_idx` ON `instances` (`is_test`,`status`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `instances_product_idx` ON `instances` (`product_id`,`created_at`,`id`);--> statement-breakpoint
ALTER TABLE `kit_applications` ADD `deleted_at` integer;--> statement-breakpoint
ALTER TABLE `kit_applications` ADD `deleted_sync_at` integer;--> statement-breakpoint
CREATE INDEX `kit_applications_tombstones_idx` ON `kit_applications` (`deleted_at`) WHERE deleted_at IS NOT NULL;--> statement-breakpoint
ALTER TABLE `kit_orgs` ADD `deleted_at` integer;--> statement-breakpoint
CREATE INDEX `kit_orgs_tombstones_idx` ON `kit_orgs` (`deleted_at`) WHERE deleted_at IS NOT NULL;--> statement-breakpoint
ALTER TABLE `kit_tenants` ADD `deleted_at` integer;--> statement-breakpoint
ALTER TABLE `kit_tenants` ADD `deleted_sync_at` integer;--> statement-breakpoint
CREATE INDEX `kit_tenants_tombstones_idx` ON `kit_tenants` (`deleted_at`) WHERE deleted_at IS NOT NULL;--> statement-breakpoint
ALTER TABLE `kit_users` ADD `deleted_at` integer;--> statement-breakpoint
CREATE INDEX `kit_users_tombstones_idx` ON `kit_users` (`deleted_at`) WHERE deleted_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `audit_events_status_change_idx` ON `audit_events` (`instance_id`,`at`) WHERE from_status IS NOT to_status;--> statement-breakpoint
CREATE INDEX `inbox_interface_received_idx` ON `inbox` (`interface`,`received_at`);--> statement-breakpoint
CREATE INDEX `job_runs_started_idx` ON `job_runs` (`started_at`);