DROP TABLE source_breaker;
DROP FUNCTION source_breaker_notify();
ALTER TABLE sync_cursor DROP COLUMN idle_polls, DROP COLUMN next_poll_at;
