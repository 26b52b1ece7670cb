CREATE TABLE "alert_state_versions" (
	"appliance_id" uuid PRIMARY KEY NOT NULL,
	"version" integer DEFAULT 0 NOT NULL
);
