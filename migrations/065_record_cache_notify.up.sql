-- The API keeps rendered list pages in memory (internal/api/pages.go).
-- Anything that can change what a list shows announces itself on the
-- channel portico_records at commit, and every process drops its pages:
-- cached records (data, tombstones, pending actions), the sync cursors
-- (synced_at and source_unavailable_since come from them) and the actions
-- (a record's pending action). One notification per transaction: the
-- payload is the same, and PostgreSQL folds duplicates.
CREATE FUNCTION record_cache_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('portico_records', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER record_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON record
    FOR EACH STATEMENT EXECUTE FUNCTION record_cache_notify();
CREATE TRIGGER sync_cursor_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sync_cursor
    FOR EACH STATEMENT EXECUTE FUNCTION record_cache_notify();
CREATE TRIGGER action_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON action
    FOR EACH STATEMENT EXECUTE FUNCTION record_cache_notify();
