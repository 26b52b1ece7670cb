-- Tickets answered before outcomes were recorded: their outcome against the target in force now
-- (the best history there is). From here on the outcome is written at the first response.
UPDATE "tickets"
   SET "response_outcome" = CASE WHEN "first_response_at" <= "response_due_at" THEN 'met' ELSE 'missed' END,
       "response_outcome_due_at" = "response_due_at",
       "response_outcome_priority" = "priority",
       "response_missed_by_seconds" = CASE WHEN "first_response_at" <= "response_due_at" THEN NULL
                                           ELSE ceil(extract(epoch from "first_response_at" - "response_due_at"))::int END
 WHERE "first_response_at" IS NOT NULL AND "response_outcome" IS NULL;
