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
CREATE INDEX `licenses_instance_fingerprint_idx` ON `licenses` (`instance_id`,`fingerprint_sha256`);