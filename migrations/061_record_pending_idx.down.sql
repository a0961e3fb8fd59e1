DROP INDEX IF EXISTS record_pending_idx;
