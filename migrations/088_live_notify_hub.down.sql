DROP TRIGGER record_live_notify_insert ON record;
DROP FUNCTION live_notify_insert();

DROP TRIGGER record_live_notify ON record;
CREATE TRIGGER record_live_notify AFTER UPDATE ON record
    FOR EACH ROW WHEN (OLD.data IS DISTINCT FROM NEW.data
                       OR OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
                       OR OLD.hidden IS DISTINCT FROM NEW.hidden
                       OR OLD.pending_action_id IS DISTINCT FROM NEW.pending_action_id)
    EXECUTE FUNCTION live_notify_row();

CREATE OR REPLACE FUNCTION live_notify_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    IF TG_TABLE_NAME = 'action' THEN
        payload := 'a:' || NEW.tenant_id || ':' || NEW.id || ':' || NEW.user_id;
    ELSE
        payload := 'r:' || NEW.tenant_id || ':' || NEW.object || ':' || NEW.source_id;
    END IF;
    IF octet_length(payload) < 7900 THEN
        PERFORM pg_notify('portico_live', payload);
    END IF;
    RETURN NULL;
END
$$;

DROP FUNCTION live_notify(text);
