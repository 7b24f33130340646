CREATE TABLE `license_code_orders` (
	`order_id` text NOT NULL,
	`order_line_id` text NOT NULL,
	`is_test` integer NOT NULL,
	`code` text NOT NULL,
	`activity` text NOT NULL,
	`fetch_state` text NOT NULL,
	`fetch_attempts` integer NOT NULL,
	`next_fetch_at` integer,
	`last_error` text,
	`order_type` text,
	`charging_mode` text,
	`product_id` text,
	`sku_code` text,
	`amount` text,
	`list_amount` text,
	`order_created_at` integer,
	`fetched_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`order_id`, `order_line_id`, `is_test`)
);
--> statement-breakpoint
CREATE INDEX `license_code_orders_code_idx` ON `license_code_orders` (`code`);--> statement-breakpoint
CREATE INDEX `license_code_orders_created_idx` ON `license_code_orders` (`order_created_at`);--> statement-breakpoint
CREATE INDEX `license_code_orders_fetch_due_idx` ON `license_code_orders` (`fetch_state`,`next_fetch_at`);--> statement-breakpoint
ALTER TABLE `general_orders` ADD `amount` text;--> statement-breakpoint
ALTER TABLE `general_orders` ADD `list_amount` text;--> statement-breakpoint
ALTER TABLE `general_orders` ADD `order_created_at` integer;--> statement-breakpoint
CREATE INDEX `general_orders_created_idx` ON `general_orders` (`order_created_at`);--> statement-breakpoint
ALTER TABLE `orders` ADD `amount` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `list_amount` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `order_created_at` integer;--> statement-breakpoint
CREATE INDEX `orders_created_idx` ON `orders` (`order_created_at`);