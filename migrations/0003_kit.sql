CREATE TABLE `kit_applications` (
	`instance_id` text NOT NULL,
	`is_test` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`client_id` text NOT NULL,
	`client_secret_sealed` text NOT NULL,
	`oaep_variant` text NOT NULL,
	`synced_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`instance_id`, `is_test`, `tenant_id`, `app_id`)
);
--> statement-breakpoint
CREATE TABLE `kit_orgs` (
	`instance_id` text NOT NULL,
	`is_test` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`org_code` text NOT NULL,
	`org_name` text NOT NULL,
	`parent_code` text,
	`sync_ref` text NOT NULL,
	`synced_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`instance_id`, `is_test`, `tenant_id`, `org_code`)
);
--> statement-breakpoint
CREATE TABLE `kit_tenants` (
	`instance_id` text NOT NULL,
	`is_test` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`tenant_code` text NOT NULL,
	`order_id` text NOT NULL,
	`name` text NOT NULL,
	`domain_name` text NOT NULL,
	`synced_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`instance_id`, `is_test`, `tenant_id`)
);
--> statement-breakpoint
CREATE TABLE `kit_users` (
	`instance_id` text NOT NULL,
	`is_test` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`user_name` text NOT NULL,
	`name` text NOT NULL,
	`org_code` text NOT NULL,
	`role` text NOT NULL,
	`enabled` integer NOT NULL,
	`authorized` integer NOT NULL,
	`profile` text NOT NULL,
	`synced_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`instance_id`, `is_test`, `tenant_id`, `app_id`, `user_name`)
);
