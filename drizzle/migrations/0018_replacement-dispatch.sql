CREATE TABLE "replacement_dispatches" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"ticket_id" uuid NOT NULL,
	"customer_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"site_id" uuid,
	"site" jsonb NOT NULL,
	"carrier" text,
	"tracking_number" text,
	"shipped_at" timestamp (3) with time zone,
	"engineer_name" text,
	"engineer_user_id" uuid,
	"planned_visit_at" timestamp (3) with time zone,
	"note" text,
	"dispatched_at" timestamp (3) with time zone NOT NULL,
	"dispatched_by" uuid,
	CONSTRAINT "replacement_dispatches_ticket_id_unique" UNIQUE("ticket_id")
);
--> statement-breakpoint
ALTER TABLE "sites" ADD COLUMN "address_lines" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "sites" ADD COLUMN "postal_code" text;--> statement-breakpoint
ALTER TABLE "sites" ADD COLUMN "city" text;--> statement-breakpoint
ALTER TABLE "sites" ADD COLUMN "country" text;--> statement-breakpoint
ALTER TABLE "sites" ADD COLUMN "contact_name" text;--> statement-breakpoint
ALTER TABLE "sites" ADD COLUMN "contact_phone" text;--> statement-breakpoint
ALTER TABLE "sites" ADD COLUMN "notes" text;--> statement-breakpoint
ALTER TABLE "sites" ADD COLUMN "updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "replacement_dispatched_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "replacement_arrived_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "replacement_outcome" text;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "replacement_outcome_due_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "replacement_missed_by_seconds" integer;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "replacement_at_risk_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "replacement_breached_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "replacement_dispatches" ADD CONSTRAINT "replacement_dispatches_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "public"."tickets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "replacement_dispatches" ADD CONSTRAINT "replacement_dispatches_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "replacement_dispatches" ADD CONSTRAINT "replacement_dispatches_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "replacement_dispatches" ADD CONSTRAINT "replacement_dispatches_engineer_user_id_users_id_fk" FOREIGN KEY ("engineer_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "replacement_dispatches" ADD CONSTRAINT "replacement_dispatches_dispatched_by_users_id_fk" FOREIGN KEY ("dispatched_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "replacement_dispatches_customer_idx" ON "replacement_dispatches" USING btree ("customer_id");