-- The shipped "All power supplies failed" rule counts the PSUs the appliance declared in its
-- heartbeat topology, not the series seen so far (SPEC §7 "Aggregates follow the topology").
-- Seeding never overwrites a rule, so existing databases get the new parameter here; a rule an
-- admin already gave its own members is left alone.
UPDATE "rules"
   SET "params" = "params" || '{"members":{"label":"psu","kind":"psu"}}'::jsonb
 WHERE "key" = 'psu-all-failed' AND "params"->'members' IS NULL;
