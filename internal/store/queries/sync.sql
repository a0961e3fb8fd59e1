-- name: SyncCursorGet :one
SELECT * FROM sync_cursor WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object;

-- name: SyncCursorEnsure :one
INSERT INTO sync_cursor (tenant_id, connection, object) VALUES (@tenant_id, @connection, @object)
ON CONFLICT (tenant_id, connection, object) DO UPDATE SET tenant_id = excluded.tenant_id
RETURNING *;

-- name: SyncCursorLock :one
-- Taken at the start of a page's transaction: one sync of an object at a
-- time, whatever the number of workers.
SELECT * FROM sync_cursor WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object FOR UPDATE;

-- name: SyncCursorAdvance :exec
UPDATE sync_cursor SET cursor = @cursor, updated_at = now()
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object;

-- name: SyncCursorSucceeded :exec
UPDATE sync_cursor SET synced_through = greatest(synced_through, @synced_through), last_success_at = now(), last_error = NULL, failing_since = NULL
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object;

-- name: SyncCursorFailed :exec
UPDATE sync_cursor SET last_error = @error, last_error_at = now(), failing_since = coalesce(failing_since, now())
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object;

-- name: SyncCursorFullProgress :exec
UPDATE sync_cursor SET full_page = sqlc.narg(full_page), full_run_id = sqlc.narg(full_run_id), updated_at = now()
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object;

-- name: SyncCursorList :many
SELECT * FROM sync_cursor WHERE tenant_id = @tenant_id ORDER BY connection, object;

-- name: SyncRunStart :one
INSERT INTO sync_run (tenant_id, connection, object, kind) VALUES (@tenant_id, @connection, @object, @kind)
RETURNING *;

-- name: SyncRunProgress :exec
UPDATE sync_run SET pages = pages + 1, records = records + @records, deleted = deleted + @deleted WHERE id = @id;

-- name: SyncRunFinish :one
UPDATE sync_run SET state = @state, finished_at = now(), error = sqlc.narg(error), differences = sqlc.narg(differences)
WHERE id = @id RETURNING *;

-- name: SyncRunGet :one
SELECT * FROM sync_run WHERE id = @id;

-- name: SyncRunLatest :many
-- The newest run of each kind for each object.
SELECT DISTINCT ON (connection, object, kind) *
FROM sync_run WHERE tenant_id = @tenant_id
ORDER BY connection, object, kind, started_at DESC;

-- name: SyncCursorLags :many
SELECT connection, object, extract(epoch FROM now() - synced_through)::float8 AS lag_seconds
FROM sync_cursor WHERE tenant_id = $1 AND synced_through IS NOT NULL;

-- name: SyncCursorPulledWith :exec
-- Records the source paths the stored payloads now carry: after a full
-- run, or the first success of an object whose paths were not known.
UPDATE sync_cursor SET source_paths = @source_paths::text[]
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object;

-- name: SyncPollDone :exec
-- Records a poll's outcome: idle_polls counts the polls in a row that
-- found nothing (0 after a change), next_poll_at is when it is due again.
UPDATE sync_cursor SET idle_polls = CASE WHEN @idle::boolean THEN idle_polls + 1 ELSE 0 END, next_poll_at = @next_poll_at
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object;

-- name: SyncPollWake :exec
-- A webhook or refresh says the object changes: it is polled at its own
-- interval again, starting now.
UPDATE sync_cursor SET idle_polls = 0, next_poll_at = NULL
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND (idle_polls > 0 OR next_poll_at IS NOT NULL);

-- name: SyncPullLease :execrows
-- Takes or renews the lease of an object's pulls for owner, one pull at a
-- time across every process: 0 rows when another pull holds it.
UPDATE sync_cursor SET pull_owner = @owner::text, pull_until = clock_timestamp() + make_interval(secs => @seconds::double precision)
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object
  AND (pull_owner IS NULL OR pull_owner = @owner::text OR pull_until < clock_timestamp());

-- name: SyncPullRelease :exec
UPDATE sync_cursor SET pull_owner = NULL, pull_until = NULL
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND pull_owner = @owner::text;
