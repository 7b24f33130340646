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
CREATE INDEX `sso_sign_ins_at_idx` ON `sso_sign_ins` (`at`);