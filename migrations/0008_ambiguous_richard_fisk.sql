CREATE TABLE `self_check_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ran_at` integer NOT NULL,
	`ok` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`scope` text NOT NULL,
	`checks` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `self_check_runs_ran_at_idx` ON `self_check_runs` (`ran_at`);--> statement-breakpoint
CREATE TABLE `self_check_state` (
	`name` text PRIMARY KEY NOT NULL,
	`at` integer NOT NULL
);
