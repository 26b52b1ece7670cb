ALTER TABLE "surveys" ADD COLUMN "token" text;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "response_outcome" text;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "response_outcome_due_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "response_outcome_priority" text;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "response_missed_by_seconds" integer;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "waiting_reminder_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "close_proposed_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "close_proposed_by" uuid;--> statement-breakpoint
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_close_proposed_by_users_id_fk" FOREIGN KEY ("close_proposed_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;