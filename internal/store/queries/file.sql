-- name: FileInsert :one
-- A file as its upload starts, in the transaction that stores its
-- content and scan result.
INSERT INTO file (tenant_id, storage_key, connection, object, record_id, owner_account, uploaded_by, file_name, content_type)
VALUES (@tenant_id, @storage_key, @connection, @object, @record_id, @owner_account, @uploaded_by, @file_name, @content_type)
RETURNING *;

-- name: FileChunkInsert :exec
INSERT INTO file_chunk (file_id, n, data) VALUES (@file_id, @n, @data);

-- name: FileChunkGet :one
SELECT data FROM file_chunk WHERE file_id = @file_id AND n = @n;

-- name: FileStored :one
-- The upload's outcome: its size, hash and scan.
UPDATE file SET size = @size, sha256 = @sha256, state = @state, scan_result = sqlc.narg(scan_result)
WHERE id = @id
RETURNING *;

-- name: FileGet :one
SELECT * FROM file WHERE tenant_id = @tenant_id AND id = @id;

-- name: FileByID :one
-- A file by id alone, for the write-back worker (the action names it).
SELECT * FROM file WHERE id = @id;

-- name: FileListByRecord :many
SELECT * FROM file
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND record_id = @record_id
    AND state <> 'scanning'
ORDER BY id DESC
LIMIT @max_rows;

-- name: FileSetAction :exec
UPDATE file SET action_id = @action_id WHERE id = @id;

-- name: FileSourceConfirmed :exec
-- The source holds the file now, under its own id.
UPDATE file SET source_id = @source_id, source_version = @source_version, synced_at = now()
WHERE action_id = @action_id;

-- name: FileDelete :exec
DELETE FROM file WHERE id = @id;

-- name: FileCounts :one
-- Tests and benches: how many files and chunks are stored.
SELECT (SELECT count(*) FROM file) AS files, (SELECT count(*) FROM file_chunk) AS chunks;
