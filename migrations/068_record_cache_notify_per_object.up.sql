-- List pages are dropped per tenant and portal object instead of all at
-- once (internal/api/pages.go): a sync of invoices no longer drops every
-- cached case page. The payloads:
--   r:<tenant>:<object>                       a cached record changed
--   a:<tenant>:<object>                       an action on that object changed
--   c:<tenant>:<connection>:<source object>   a sync cursor moved
--   (empty)                                   anything else: drop every page
-- PostgreSQL folds identical notifications within a transaction, so a
-- synced page of records costs one notification, not one per row.
DROP TRIGGER record_cache_notify ON record;
DROP TRIGGER sync_cursor_cache_notify ON sync_cursor;
DROP TRIGGER action_cache_notify ON action;

CREATE FUNCTION record_cache_notify_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'record' THEN
        PERFORM pg_notify('portico_records', 'r:' || r.tenant_id || ':' || r.object);
    ELSIF TG_TABLE_NAME = 'action' THEN
        PERFORM pg_notify('portico_records', 'a:' || r.tenant_id || ':' || r.object);
    ELSE
        PERFORM pg_notify('portico_records', 'c:' || r.tenant_id || ':' || r.connection || ':' || r.object);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER record_cache_notify AFTER INSERT OR UPDATE OR DELETE ON record
    FOR EACH ROW EXECUTE FUNCTION record_cache_notify_row();
CREATE TRIGGER sync_cursor_cache_notify AFTER INSERT OR UPDATE OR DELETE ON sync_cursor
    FOR EACH ROW EXECUTE FUNCTION record_cache_notify_row();
CREATE TRIGGER action_cache_notify AFTER INSERT OR UPDATE OR DELETE ON action
    FOR EACH ROW EXECUTE FUNCTION record_cache_notify_row();
CREATE TRIGGER record_cache_notify_truncate AFTER TRUNCATE ON record
    FOR EACH STATEMENT EXECUTE FUNCTION record_cache_notify();
CREATE TRIGGER sync_cursor_cache_notify_truncate AFTER TRUNCATE ON sync_cursor
    FOR EACH STATEMENT EXECUTE FUNCTION record_cache_notify();
CREATE TRIGGER action_cache_notify_truncate AFTER TRUNCATE ON action
    FOR EACH STATEMENT EXECUTE FUNCTION record_cache_notify();
