-- WAL positions, for routing reads to a streaming replica
-- (internal/replica), and the LISTEN probe. A position is a byte offset into the WAL, as bigint.

-- name: WALInsertPosition :one
-- Where the primary's next WAL record goes: at or past the commit record of
-- every transaction committed before, even under synchronous_commit = off.
SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint AS position;

-- name: WALFlushPosition :one
-- How far the primary has flushed its WAL: what a standby can have received.
SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::bigint AS position;

-- name: WALReplayPosition :one
-- How far a standby has replayed the primary's WAL; a server that is not in
-- recovery (a primary) answers its own flush position.
SELECT pg_is_in_recovery() AS in_recovery,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_replay_lsn(), '0/0')
                            ELSE pg_current_wal_flush_lsn() END, '0/0')::bigint AS position;

-- name: NotifyProbe :exec
-- Sends payload on channel: the listener's probe that its connection can
-- LISTEN (internal/pgnotify).
SELECT pg_notify(@channel::text, @payload::text);
