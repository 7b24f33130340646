DROP INDEX `usage_events_unrolled_idx`;--> statement-breakpoint
DROP INDEX `usage_events_record_idx`;--> statement-breakpoint
CREATE INDEX `usage_events_unrolled_idx` ON `usage_events` (`instance_id`,`event_time`,`quantity_units`,`record_sn`,`not_billed`) WHERE record_sn IS NULL AND not_billed IS NULL;--> statement-breakpoint
CREATE INDEX `usage_events_record_idx` ON `usage_events` (`instance_id`,`record_sn`) WHERE record_sn IS NOT NULL;