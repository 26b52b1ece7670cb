CREATE TABLE "work_logs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"ticket_id" uuid NOT NULL,
	"engineer_id" uuid,
	"at" timestamp (3) with time zone NOT NULL,
	"minutes" integer NOT NULL,
	"note" text DEFAULT '' NOT NULL,
	"billable_off_hours_minutes" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "off_hours_asked_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "off_hours_expires_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "off_hours_rate" text;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "off_hours_answer" text;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "off_hours_answered_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "off_hours_recorded_by" uuid;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "off_hours_channel" text;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "off_hours_given_by" text;--> statement-breakpoint
ALTER TABLE "work_logs" ADD CONSTRAINT "work_logs_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "public"."tickets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "work_logs" ADD CONSTRAINT "work_logs_engineer_id_users_id_fk" FOREIGN KEY ("engineer_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "work_logs_ticket_idx" ON "work_logs" USING btree ("ticket_id","at");--> statement-breakpoint
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_off_hours_recorded_by_users_id_fk" FOREIGN KEY ("off_hours_recorded_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;