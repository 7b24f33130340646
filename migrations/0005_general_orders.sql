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
CREATE INDEX `general_orders_state_idx` ON `general_orders` (`state`,`received_at`,`order_id`,`order_line_id`,`is_test`);