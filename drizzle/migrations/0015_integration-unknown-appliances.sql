CREATE TABLE "integration_unknown_appliances" (
	"integration_id" uuid NOT NULL,
	"serial" text NOT NULL,
	"count" bigint NOT NULL,
	"first_seen_at" timestamp (3) with time zone NOT NULL,
	"last_seen_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "integration_unknown_appliances_integration_id_serial_pk" PRIMARY KEY("integration_id","serial")
);
--> statement-breakpoint
ALTER TABLE "integrations" ADD COLUMN "skipped_points" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "integrations" ADD COLUMN "last_skipped_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "integration_unknown_appliances" ADD CONSTRAINT "integration_unknown_appliances_integration_id_integrations_id_fk" FOREIGN KEY ("integration_id") REFERENCES "public"."integrations"("id") ON DELETE cascade ON UPDATE no action;