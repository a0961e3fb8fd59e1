DROP INDEX IF EXISTS record_approval_line_idx;
