-- name: ApprovalStateLock :one
-- A request's state, locked for its transition; ErrNotFound before the
-- first.
SELECT * FROM approval_state
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND record_id = @record_id
FOR UPDATE;

-- name: ApprovalStateGet :one
SELECT * FROM approval_state
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND record_id = @record_id;

-- name: ApprovalStatePut :exec
INSERT INTO approval_state (tenant_id, connection, object, record_id, state, viewed_at, viewed_by, decided_at, decided_by, updated_at)
VALUES (@tenant_id, @connection, @object, @record_id, @state, sqlc.narg(viewed_at), sqlc.narg(viewed_by), sqlc.narg(decided_at), sqlc.narg(decided_by), @updated_at)
ON CONFLICT (tenant_id, connection, object, record_id) DO UPDATE
SET state = EXCLUDED.state, viewed_at = EXCLUDED.viewed_at, viewed_by = EXCLUDED.viewed_by,
    decided_at = EXCLUDED.decided_at, decided_by = EXCLUDED.decided_by, updated_at = EXCLUDED.updated_at;

-- name: SignatureInsert :one
INSERT INTO signature (tenant_id, connection, object, record_id, file_id, signer_user_id, document_sha256, sealed_sha256, consent_version, evidence, signed_at)
VALUES (@tenant_id, @connection, @object, @record_id, @file_id, @signer_user_id, @document_sha256, @sealed_sha256, @consent_version, @evidence, @signed_at)
RETURNING id;

-- name: SignatureListByRecord :many
SELECT * FROM signature
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND record_id = @record_id
ORDER BY id DESC;

-- name: ApprovalStatesToReconcile :many
-- Requests whose stored state may differ from what the cache now says of
-- the record: every one not withdrawn, and a withdrawn one whose record
-- is visible again. gone: the record is hidden, deleted or not cached.
SELECT s.tenant_id, s.connection, s.object, s.record_id, s.state,
       coalesce(r.status, '')::text AS record_status,
       coalesce(r.owner_account, '')::text AS owner_account,
       coalesce(r.data->'fields'->>'expires_on', '')::text AS expires_on,
       (r.source_id IS NULL OR r.hidden OR r.deleted_at IS NOT NULL)::boolean AS gone
FROM approval_state s
LEFT JOIN record r ON r.tenant_id = s.tenant_id AND r.connection = s.connection
    AND r.object = s.object AND r.source_id = s.record_id
WHERE s.state <> 'withdrawn' OR (r.source_id IS NOT NULL AND NOT r.hidden AND r.deleted_at IS NULL)
ORDER BY s.updated_at
LIMIT @max_rows;
