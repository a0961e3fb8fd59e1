ALTER TABLE sync_cursor DROP COLUMN source_paths;
