-- Session locks, for the migrator.

-- name: AdvisoryLock :exec
-- Held by the session until AdvisoryUnlock or its end.
SELECT pg_advisory_lock(@id::bigint);

-- name: AdvisoryUnlock :exec
SELECT pg_advisory_unlock(@id::bigint);
