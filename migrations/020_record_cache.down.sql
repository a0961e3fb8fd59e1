DROP TABLE sync_run;
DROP TABLE sync_cursor;
DROP TABLE account_xref;
DROP TABLE record;
