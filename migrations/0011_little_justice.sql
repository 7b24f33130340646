CREATE TABLE `problems` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`severity` text NOT NULL,
	`summary` text NOT NULL,
	`detail` text NOT NULL,
	`count` integer DEFAULT 1 NOT NULL,
	`opened_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	`resolved_at` integer,
	`resolved_by` text,
	`resolution_note` text,
	`alert_opened` text NOT NULL,
	`alert_resolved` text,
	`alert_attempts` integer DEFAULT 0 NOT NULL,
	`alert_next_at` integer,
	`alert_error` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `problems_open_uq` ON `problems` (`kind`,`subject`) WHERE resolved_at IS NULL;--> statement-breakpoint
CREATE INDEX `problems_opened_idx` ON `problems` (`opened_at`);--> statement-breakpoint
CREATE INDEX `problems_resolved_idx` ON `problems` (`resolved_at`) WHERE resolved_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `problems_alert_due_idx` ON `problems` (`alert_next_at`) WHERE alert_next_at IS NOT NULL;