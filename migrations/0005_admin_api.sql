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
CREATE INDEX `usage_records_period_begin_idx` ON `usage_records` (`period_begin`);--> statement-breakpoint
CREATE INDEX `events_failed_idx` ON `events` (`seq`) WHERE delivery_state = 'failed';--> statement-breakpoint
CREATE INDEX `instances_customer_name_idx` ON `instances` (`customer_name`,`created_at`,`id`);