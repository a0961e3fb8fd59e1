DROP TRIGGER record_live_notify ON record;
DROP TRIGGER action_live_notify ON action;
DROP FUNCTION live_notify_row();
