ALTER TABLE `kit_tenants` ADD `deleted_at` integer;--> statement-breakpoint
ALTER TABLE `kit_tenants` ADD `deleted_sync_at` integer;--> statement-breakpoint
ALTER TABLE `kit_applications` ADD `deleted_at` integer;--> statement-breakpoint
ALTER TABLE `kit_applications` ADD `deleted_sync_at` integer;--> statement-breakpoint
ALTER TABLE `kit_users` ADD `deleted_at` integer;--> statement-breakpoint
ALTER TABLE `kit_orgs` ADD `deleted_at` integer;--> statement-breakpoint
CREATE TABLE `kit_org_trees` (
	`instance_id` text NOT NULL,
	`is_test` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`synced_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`instance_id`, `is_test`, `tenant_id`)
);
--> statement-breakpoint
CREATE INDEX `kit_tenants_tombstones_idx` ON `kit_tenants` (`deleted_at`) WHERE deleted_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `kit_applications_tombstones_idx` ON `kit_applications` (`deleted_at`) WHERE deleted_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `kit_users_tombstones_idx` ON `kit_users` (`deleted_at`) WHERE deleted_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `kit_orgs_tombstones_idx` ON `kit_orgs` (`deleted_at`) WHERE deleted_at IS NOT NULL;
