-- The rule engine keeps each appliance's open alerts in memory (docs/decisions/0007-rule-evaluation-state.md)
-- and reloads them when the appliance's alert_state_versions.version moved. Every writer of
-- alerts (engine, scheduler, API, another process) bumps it through this trigger: an alert
-- inserted or deleted, a status change, cleared_at set or unset (the keep_firing_for clock
-- and the hysteresis side). Steady touches (last_active_at, value) do not bump it.
CREATE FUNCTION vigil_bump_alert_state_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO alert_state_versions AS v (appliance_id, version) VALUES (OLD.appliance_id, 1)
    ON CONFLICT (appliance_id) DO UPDATE SET version = v.version + 1;
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND OLD.appliance_id IS DISTINCT FROM NEW.appliance_id) THEN
    INSERT INTO alert_state_versions AS v (appliance_id, version) VALUES (NEW.appliance_id, 1)
    ON CONFLICT (appliance_id) DO UPDATE SET version = v.version + 1;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER alerts_state_version_insert AFTER INSERT ON alerts
  FOR EACH ROW EXECUTE FUNCTION vigil_bump_alert_state_version();
--> statement-breakpoint
CREATE TRIGGER alerts_state_version_delete AFTER DELETE ON alerts
  FOR EACH ROW EXECUTE FUNCTION vigil_bump_alert_state_version();
--> statement-breakpoint
CREATE TRIGGER alerts_state_version_update AFTER UPDATE ON alerts
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                     OR (OLD.cleared_at IS NULL) <> (NEW.cleared_at IS NULL)
                     OR OLD.appliance_id IS DISTINCT FROM NEW.appliance_id)
  EXECUTE FUNCTION vigil_bump_alert_state_version();
