CREATE TABLE `audit_events` (
	`instance_id` text NOT NULL,
	`seq` integer NOT NULL,
	`at` integer NOT NULL,
	`event` text NOT NULL,
	`from_status` text,
	`to_status` text,
	`detail` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL,
	PRIMARY KEY(`instance_id`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `inbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`idempotency_key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`interface` text NOT NULL,
	`activity` text NOT NULL,
	`instance_id` text,
	`is_test` integer NOT NULL,
	`request` text NOT NULL,
	`result_code` text NOT NULL,
	`answer` text NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `inbox_idempotency_key_uq` ON `inbox` (`idempotency_key`);--> statement-breakpoint
CREATE INDEX `inbox_instance_idx` ON `inbox` (`instance_id`,`received_at`);--> statement-breakpoint
CREATE INDEX `inbox_received_idx` ON `inbox` (`received_at`);--> statement-breakpoint
CREATE TABLE `instances` (
	`id` text PRIMARY KEY NOT NULL,
	`create_key` text NOT NULL,
	`order_id` text NOT NULL,
	`order_line_id` text,
	`product_id` text,
	`sku_code` text,
	`charging_mode` text,
	`status` text NOT NULL,
	`is_test` integer NOT NULL,
	`version` integer NOT NULL,
	`expire_at` integer,
	`expire_source` text,
	`frontend_url` text,
	`admin_url` text,
	`admin_user_name` text,
	`admin_password_sealed` text,
	`provisioned_at` integer,
	`frozen_at` integer,
	`released_at` integer,
	`failure_reason` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `instances_create_key_uq` ON `instances` (`create_key`);--> statement-breakpoint
CREATE INDEX `instances_status_expire_idx` ON `instances` (`status`,`expire_at`);--> statement-breakpoint
CREATE INDEX `instances_order_idx` ON `instances` (`order_id`);--> statement-breakpoint
CREATE TABLE `nonces` (
	`nonce` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `nonces_expires_idx` ON `nonces` (`expires_at`);--> statement-breakpoint
CREATE TABLE `orders` (
	`order_id` text NOT NULL,
	`order_line_id` text NOT NULL,
	`instance_id` text NOT NULL,
	`activity` text NOT NULL,
	`fetch_state` text NOT NULL,
	`fetch_attempts` integer NOT NULL,
	`next_fetch_at` integer,
	`last_error` text,
	`order_type` text,
	`product_id` text,
	`sku_code` text,
	`charging_mode` text,
	`period_type` text,
	`period_number` integer,
	`expire_at` integer,
	`customer_id` text,
	`customer_name` text,
	`snapshot` text,
	`fetched_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`order_id`, `order_line_id`)
);
--> statement-breakpoint
CREATE INDEX `orders_instance_idx` ON `orders` (`instance_id`);--> statement-breakpoint
CREATE INDEX `orders_fetch_due_idx` ON `orders` (`fetch_state`,`next_fetch_at`);