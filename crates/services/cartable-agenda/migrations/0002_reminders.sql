-- Reminders (VALARM) sent as notifications. Times are seconds since 1970 (UTC).
--
-- next_alarm: when the event's next reminder is due (the start of the first instance
-- whose reminder is at or after the last write or the last reminder sent, minus the
-- minutes of its first VALARM); NULL when it has no VALARM or no instance is left. Every
-- write computes it; the agenda's periodic task asks for next_alarm <= now on its index,
-- then moves it to the reminder after.
-- alarm_computed: 1 once next_alarm was computed from the object. Rows written before
-- this migration are 0: the periodic task computes them, a batch at a time.
-- cartable: both
ALTER TABLE agenda_event ADD COLUMN next_alarm BIGINT;
ALTER TABLE agenda_event ADD COLUMN alarm_computed BIGINT NOT NULL DEFAULT 0;
CREATE INDEX agenda_event_alarm ON agenda_event (next_alarm);
CREATE INDEX agenda_event_alarm_pending ON agenda_event (alarm_computed) WHERE alarm_computed = 0;
