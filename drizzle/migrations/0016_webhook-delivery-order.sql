ALTER TABLE "webhook_deliveries" ADD COLUMN "seq" bigserial NOT NULL;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_hook_seq_idx" ON "webhook_deliveries" USING btree ("webhook_id","seq");