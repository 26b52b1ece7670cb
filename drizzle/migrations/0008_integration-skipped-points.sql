ALTER TABLE "integrations" ADD COLUMN "skipped_points" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "integrations" ADD COLUMN "last_skipped_at" timestamp (3) with time zone;