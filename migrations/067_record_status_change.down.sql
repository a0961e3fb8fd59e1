DROP TRIGGER IF EXISTS record_status_change_log ON record;
DROP FUNCTION IF EXISTS record_status_change_log();
DROP TABLE IF EXISTS record_status_change;
