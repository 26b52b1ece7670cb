CREATE TABLE "signup_attempts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"ip" text NOT NULL,
	"at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "signups" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"name" text NOT NULL,
	"company" text NOT NULL,
	"serial" text NOT NULL,
	"language" text DEFAULT 'en' NOT NULL,
	"password_hash" text NOT NULL,
	"status" text NOT NULL,
	"verify_token_hash" text,
	"verify_expires_at" timestamp (3) with time zone,
	"email_verified_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone NOT NULL,
	"decided_at" timestamp (3) with time zone,
	"decided_by" uuid,
	"decision_reason" text,
	"user_id" uuid,
	"customer_id" uuid,
	CONSTRAINT "signups_verify_token_hash_unique" UNIQUE("verify_token_hash")
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "customer_admin" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "phone" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "time_zone" text;--> statement-breakpoint
ALTER TABLE "signups" ADD CONSTRAINT "signups_decided_by_users_id_fk" FOREIGN KEY ("decided_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "signups" ADD CONSTRAINT "signups_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "signups" ADD CONSTRAINT "signups_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "signup_attempts_email_at_idx" ON "signup_attempts" USING btree ("email","at");--> statement-breakpoint
CREATE INDEX "signup_attempts_ip_at_idx" ON "signup_attempts" USING btree ("ip","at");--> statement-breakpoint
CREATE INDEX "signups_status_idx" ON "signups" USING btree ("status","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "signups_open_email_idx" ON "signups" USING btree ("email") WHERE status in ('pending_verification', 'pending_approval');