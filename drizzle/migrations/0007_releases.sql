CREATE TABLE "releases" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"product" text NOT NULL,
	"version" text NOT NULL,
	"released_at" timestamp (3) with time zone NOT NULL,
	"current" boolean DEFAULT false NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "releases_product_version_idx" ON "releases" USING btree ("product","version");--> statement-breakpoint
CREATE UNIQUE INDEX "releases_current_idx" ON "releases" USING btree ("product") WHERE "releases"."current";--> statement-breakpoint
CREATE INDEX "releases_product_released_idx" ON "releases" USING btree ("product","released_at");