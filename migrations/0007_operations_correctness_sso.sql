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
CREATE INDEX `problems_alert_due_idx` ON `problems` (`alert_next_at`) WHERE alert_next_at IS NOT NULL;--> statement-breakpoint
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
--> statement-breakpoint
CREATE TABLE `oidc_grants` (
	`code_hash` text PRIMARY KEY NOT NULL,
	`client_id` text NOT NULL,
	`redirect_uri` text NOT NULL,
	`code_challenge` text NOT NULL,
	`nonce` text,
	`scope` text NOT NULL,
	`claims` text NOT NULL,
	`auth_time` integer NOT NULL,
	`code_expires_at` integer NOT NULL,
	`used_at` integer,
	`access_token_hash` text,
	`access_expires_at` integer,
	`revoked_at` integer,
	`purge_after` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `oidc_grants_access_token_uq` ON `oidc_grants` (`access_token_hash`) WHERE access_token_hash IS NOT NULL;--> statement-breakpoint
CREATE INDEX `oidc_grants_purge_idx` ON `oidc_grants` (`purge_after`);--> statement-breakpoint
CREATE TABLE `oidc_states` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`client_id` text NOT NULL,
	`redirect_uri` text NOT NULL,
	`app_state` text,
	`nonce` text,
	`code_challenge` text NOT NULL,
	`scope` text NOT NULL,
	`instance_id` text,
	`kit_instance_id` text NOT NULL,
	`is_test` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `oidc_states_expires_idx` ON `oidc_states` (`expires_at`);--> statement-breakpoint
CREATE TABLE `sso_sign_ins` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`instance_id` text,
	`is_test` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`user_name` text NOT NULL,
	`role` text NOT NULL,
	`client_id` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sso_sign_ins_instance_idx` ON `sso_sign_ins` (`instance_id`,`at`);--> statement-breakpoint
CREATE INDEX `sso_sign_ins_at_idx` ON `sso_sign_ins` (`at`);--> statement-breakpoint
ALTER TABLE `general_orders` ADD `notify_extra` text;--> statement-breakpoint
CREATE INDEX `license_usage_code_unsent_idx` ON `license_usage_queue` (`code`) WHERE state IN ('pending', 'sending');