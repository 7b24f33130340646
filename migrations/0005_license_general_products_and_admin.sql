CREATE TABLE `admin_actions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`target` text NOT NULL,
	`detail` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `admin_actions_at_idx` ON `admin_actions` (`at`);--> statement-breakpoint
CREATE INDEX `admin_actions_target_idx` ON `admin_actions` (`target`,`at`);--> statement-breakpoint
CREATE TABLE `general_orders` (
	`order_id` text NOT NULL,
	`order_line_id` text NOT NULL,
	`is_test` integer NOT NULL,
	`state` text NOT NULL,
	`fetch_attempts` integer NOT NULL,
	`next_fetch_at` integer,
	`last_error` text,
	`order_type` text,
	`charging_mode` text,
	`period_type` text,
	`period_number` integer,
	`expire_at` integer,
	`products` text,
	`customer_id` text,
	`customer_name` text,
	`snapshot` text,
	`received_at` integer NOT NULL,
	`fetched_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`order_id`, `order_line_id`, `is_test`)
);
--> statement-breakpoint
CREATE INDEX `general_orders_received_idx` ON `general_orders` (`received_at`,`order_id`,`order_line_id`,`is_test`);--> statement-breakpoint
CREATE INDEX `general_orders_state_idx` ON `general_orders` (`state`,`received_at`,`order_id`,`order_line_id`,`is_test`);--> statement-breakpoint
CREATE TABLE `license_codes` (
	`code` text PRIMARY KEY NOT NULL,
	`origin` text NOT NULL,
	`product_id` text,
	`order_id` text,
	`order_line_id` text,
	`is_test` integer NOT NULL,
	`status` text NOT NULL,
	`expire_at` integer,
	`last_refresh_scene` text,
	`frozen_at` integer,
	`data_retained_until` integer,
	`released_at` integer,
	`activated_at` integer,
	`marketplace_status` text,
	`amount` integer,
	`last_heartbeat_at` integer,
	`last_call_error` text,
	`last_call_error_at` integer,
	`version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `license_codes_product_idx` ON `license_codes` (`product_id`,`code`);--> statement-breakpoint
CREATE INDEX `license_codes_status_idx` ON `license_codes` (`status`,`data_retained_until`);--> statement-breakpoint
CREATE TABLE `license_usage_queue` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`code` text NOT NULL,
	`entries` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`batch_id` text,
	`lease_until` integer,
	`last_error` text,
	`sent_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `license_usage_due_idx` ON `license_usage_queue` (`state`,`next_attempt_at`,`id`) WHERE state IN ('pending', 'sending');--> statement-breakpoint
CREATE INDEX `license_usage_batch_idx` ON `license_usage_queue` (`batch_id`);--> statement-breakpoint
CREATE INDEX `license_usage_sent_idx` ON `license_usage_queue` (`sent_at`) WHERE state = 'sent';--> statement-breakpoint
CREATE TABLE `licenses` (
	`id` text PRIMARY KEY NOT NULL,
	`event_id` text NOT NULL,
	`fingerprint_sha256` text NOT NULL,
	`instance_id` text NOT NULL,
	`is_test` integer NOT NULL,
	`product_id` text,
	`sku_code` text,
	`effective_at` integer NOT NULL,
	`expire_at` integer,
	`state` text NOT NULL,
	`issued_by` text,
	`type` text,
	`content` text,
	`file_name` text,
	`content_sha256` text,
	`upload_attempts` integer DEFAULT 0 NOT NULL,
	`next_upload_at` integer,
	`last_error_code` text,
	`last_error` text,
	`issued_at` integer,
	`delivered_at` integer,
	`failed_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `licenses_event_fingerprint_uq` ON `licenses` (`event_id`,`fingerprint_sha256`);--> statement-breakpoint
CREATE INDEX `licenses_instance_state_idx` ON `licenses` (`instance_id`,`state`,`next_upload_at`);--> statement-breakpoint
CREATE INDEX `licenses_upload_due_idx` ON `licenses` (`state`,`next_upload_at`);--> statement-breakpoint
CREATE INDEX `licenses_instance_fingerprint_idx` ON `licenses` (`instance_id`,`fingerprint_sha256`);--> statement-breakpoint
CREATE INDEX `usage_records_period_begin_idx` ON `usage_records` (`period_begin`);--> statement-breakpoint
CREATE INDEX `events_failed_idx` ON `events` (`seq`) WHERE delivery_state = 'failed';--> statement-breakpoint
CREATE INDEX `instances_customer_name_idx` ON `instances` (`customer_name`,`created_at`,`id`);