-- name: FileInsert :one
-- A file as its upload starts, in the transaction that stores its
-- content and scan result.
INSERT INTO file (tenant_id, storage_key, connection, object, record_id, owner_account, uploaded_by, file_name, content_type, origin)
VALUES (@tenant_id, @storage_key, @connection, @object, @record_id, @owner_account, @uploaded_by, @file_name, @content_type, @origin)
RETURNING *;

-- name: FileChunkInsert :exec
INSERT INTO file_chunk (file_id, n, data) VALUES (@file_id, @n, @data);

-- name: FileChunkGet :one
SELECT data FROM file_chunk WHERE file_id = @file_id AND n = @n;

-- name: FileChunkDeleteAll :exec
-- A completed resumable upload's chunks once its content went to another
-- blob store (S3).
DELETE FROM file_chunk WHERE file_id = @file_id;

-- name: FileChunkAppend :execrows
-- More bytes at the end of a chunk a resumable upload's part left short.
UPDATE file_chunk SET data = data || @data::bytea WHERE file_id = @file_id AND n = @n;

-- name: FileStored :one
-- The upload's outcome: its size, hash, sniffed type and scan.
UPDATE file SET size = @size, sha256 = @sha256, content_type = @content_type, state = @state, scan_result = sqlc.narg(scan_result)
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

-- name: FileChunkVersions :many
-- Tests: the transaction that wrote each of a file's chunks (a chunk
-- written again has a new one).
SELECT n, xmin::text AS version FROM file_chunk WHERE file_id = @file_id ORDER BY n;

-- name: FileUploadInsert :exec
-- A resumable upload as it is created, with the file row (state
-- 'scanning') its content is appended to.
INSERT INTO file_upload (id, tenant_id, user_id, size, info, file_id) VALUES (@id, @tenant_id, @user_id, @size, @info, @file_id);

-- name: FileUploadGet :one
SELECT * FROM file_upload WHERE id = @id;

-- name: FileUploadLock :one
-- An upload for its next part or its completion, locked against a second
-- writer until the transaction ends.
SELECT * FROM file_upload WHERE id = @id FOR UPDATE;

-- name: FileUploadAdvance :execrows
-- The upload's offset moves past a stored part, only from where the part
-- began, with the hash of all bytes so far.
UPDATE file_upload SET "offset" = "offset" + @n::bigint, hash_state = @hash_state, updated_at = now()
WHERE id = @id AND "offset" = @start::bigint;

-- name: FileUploadDropPending :exec
-- An upload ended before it completed: its pending file goes with its
-- content, and the upload with it (ON DELETE CASCADE); a file the upload
-- already became stays.
DELETE FROM file WHERE state = 'scanning' AND id = (SELECT file_id FROM file_upload WHERE file_upload.id = @id);

-- name: FileUploadDelete :exec
DELETE FROM file_upload WHERE id = @id;

-- name: FileUploadExpire :execrows
-- Uploads left unfinished that have not moved since before, with their
-- pending files (and so their content).
DELETE FROM file WHERE state = 'scanning' AND id IN (SELECT file_id FROM file_upload WHERE updated_at < @before);

-- name: FileUploadCounts :one
-- Tests and benches: how many resumable uploads are kept, and the chunks
-- of their pending files.
SELECT (SELECT count(*) FROM file_upload) AS uploads,
    (SELECT count(*) FROM file_chunk WHERE file_id IN (SELECT file_id FROM file_upload)) AS chunks;

-- name: FileKeysStored :many
-- The sweep of orphan content (files.SweepOrphans): which of these
-- storage keys a file row names, whatever the row's state; content whose
-- key is not among them has no row.
SELECT storage_key FROM file WHERE storage_key = ANY(@keys::text[]);

-- name: FileRowSecurityActive :one
-- The sweep's guard: under row-level security (portico_api) it would not
-- see every file row, and would take content of rows it cannot see for
-- orphans.
SELECT row_security_active('file')::boolean AS active;
