-- Live updates (internal/web/live.go): the portal's open pages hear, at
-- commit, that one action or one cached record changed, on the channel
-- portico_live. The payloads carry ids only, never data:
--   a:<tenant>:<action id>:<user id>   an action's state changed
--   r:<tenant>:<object>:<source id>    a cached record's content changed
-- Each listening process routes them to the subscribers of that user or
-- record and checks visibility again before it tells a browser anything.
-- A first insert (a sync's initial load) and a sync that changes nothing
-- notify nothing; a payload PostgreSQL cannot carry (an id longer than its
-- limit) is left out rather than failing the transaction that changed it.
CREATE FUNCTION live_notify_row() RETURNS trigger
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

CREATE TRIGGER action_live_notify AFTER UPDATE OF state ON action
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION live_notify_row();
CREATE TRIGGER record_live_notify AFTER UPDATE ON record
    FOR EACH ROW WHEN (OLD.data IS DISTINCT FROM NEW.data
                       OR OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
                       OR OLD.hidden IS DISTINCT FROM NEW.hidden
                       OR OLD.pending_action_id IS DISTINCT FROM NEW.pending_action_id)
    EXECUTE FUNCTION live_notify_row();
