CREATE TABLE "sample_chunks" (
	"series_id" bigint NOT NULL,
	"first_ts" timestamp (3) with time zone NOT NULL,
	"last_ts" timestamp (3) with time zone NOT NULL,
	"point_count" integer NOT NULL,
	"compacted" boolean DEFAULT false NOT NULL,
	"point_offsets" integer[] NOT NULL,
	"point_values" double precision[] NOT NULL
);
--> statement-breakpoint
-- Existing samples move into one compacted chunk per series and UTC hour before the table goes.
INSERT INTO "sample_chunks" ("series_id", "first_ts", "last_ts", "point_count", "compacted", "point_offsets", "point_values")
SELECT "series_id", min("ts"), max("ts"), count(*)::int4, true,
       array_agg((extract(epoch from "ts" - "first") * 1000)::int4 ORDER BY "ts"),
       array_agg("value" ORDER BY "ts")
  FROM (SELECT "series_id", "ts", "value", "hour", min("ts") OVER (PARTITION BY "series_id", "hour") AS "first"
          FROM (SELECT "series_id", "ts", "value", date_bin('1 hour', "ts", timestamptz 'epoch') AS "hour" FROM "samples") AS "s") AS "s"
 GROUP BY "series_id", "hour";--> statement-breakpoint
DROP TABLE "samples" CASCADE;--> statement-breakpoint
CREATE INDEX "sample_chunks_series_last_idx" ON "sample_chunks" USING btree ("series_id","last_ts");--> statement-breakpoint
CREATE INDEX "sample_chunks_fresh_idx" ON "sample_chunks" USING btree ("last_ts") WHERE not "sample_chunks"."compacted";--> statement-breakpoint
CREATE VIEW "public"."samples" AS (select c.series_id, c.first_ts + p.o * interval '1 millisecond' as ts, p.v as value from sample_chunks c cross join lateral unnest(c.point_offsets, c.point_values) as p(o, v));--> statement-breakpoint
-- Every batch moves the latest value of its series: free room on each page lets PostgreSQL
-- update them in place (HOT) instead of inserting new entries into both series indexes.
ALTER TABLE "series" SET (fillfactor = 50);
