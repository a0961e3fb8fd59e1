DROP TRIGGER IF EXISTS action_cache_notify ON action;
DROP TRIGGER IF EXISTS sync_cursor_cache_notify ON sync_cursor;
DROP TRIGGER IF EXISTS record_cache_notify ON record;
DROP FUNCTION IF EXISTS record_cache_notify();
