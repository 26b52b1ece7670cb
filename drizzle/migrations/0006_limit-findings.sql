ALTER TABLE "findings" ADD COLUMN "kind" text DEFAULT 'not_covered' NOT NULL;--> statement-breakpoint
ALTER TABLE "findings" ADD COLUMN "occurrences" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "findings_open_limit_uidx" ON "findings" USING btree ("appliance_id","kind") WHERE "findings"."state" = 'open';