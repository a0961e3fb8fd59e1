DROP TRIGGER IF EXISTS action_cache_notify_truncate ON action;
DROP TRIGGER IF EXISTS sync_cursor_cache_notify_truncate ON sync_cursor;
DROP TRIGGER IF EXISTS record_cache_notify_truncate ON record;
DROP TRIGGER IF EXISTS action_cache_notify ON action;
DROP TRIGGER IF EXISTS sync_cursor_cache_notify ON sync_cursor;
DROP TRIGGER IF EXISTS record_cache_notify ON record;
DROP FUNCTION IF EXISTS record_cache_notify_row();
CREATE TRIGGER record_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON record
    FOR EACH STATEMENT EXECUTE FUNCTION record_cache_notify();
CREATE TRIGGER sync_cursor_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sync_cursor
    FOR EACH STATEMENT EXECUTE FUNCTION record_cache_notify();
CREATE TRIGGER action_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON action
    FOR EACH STATEMENT EXECUTE FUNCTION record_cache_notify();
