-- Existing series count as written once (1), so none of them reads as "never written" (0): a
-- process holding recent points starts a complete entry only at a series' first write (count 1)
-- and must not take an old series' next write for it (docs/decisions/0010). Both statements
-- change the catalogue only (a constant default), not the table's rows.
ALTER TABLE "series" ADD COLUMN "write_seq" bigint DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "series" ALTER COLUMN "write_seq" SET DEFAULT 0;
