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
CREATE INDEX `instances_product_idx` ON `instances` (`product_id`,`created_at`,`id`);