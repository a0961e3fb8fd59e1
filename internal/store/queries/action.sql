-- name: ActionByClientKey :one
SELECT * FROM action WHERE tenant_id = @tenant_id AND user_id = @user_id AND client_key = @client_key;

-- name: ActionInsert :one
-- A create's target is its provisional id, pending:<id> (ProvisionalID),
-- set here rather than by a second statement.
INSERT INTO action (
    id, tenant_id, user_id, account_id, contact_id, actor_refs, kind, connection, object, source_object,
    op, target, input, client_key, expected_version, prior_data
) OVERRIDING SYSTEM VALUE
SELECT n.id, @tenant_id::bigint, @user_id::text, @account_id::text, @contact_id::text, @actor_refs::jsonb,
    @kind::text, @connection::text, @object::text, @source_object::text, @op::text,
    CASE WHEN @op::text = 'create' THEN 'pending:' || n.id ELSE @target::text END,
    @input::jsonb, sqlc.narg(client_key)::text, @expected_version::text, sqlc.narg(prior_data)::jsonb
FROM (SELECT nextval(pg_get_serial_sequence('action', 'id')) AS id) n
RETURNING *;

-- name: ActionGet :one
SELECT * FROM action WHERE id = @id;

-- name: ActionGetForUpdate :one
SELECT * FROM action WHERE id = @id FOR UPDATE;

-- name: ActionForApply :one
-- The action a job applies, and whether an action accepted before it on
-- the same target is not settled yet: actions on one record apply in the
-- order they were accepted.
SELECT sqlc.embed(a), EXISTS (
    SELECT 1 FROM action e
    WHERE e.tenant_id = a.tenant_id AND e.connection = a.connection AND e.object = a.object AND e.target = a.target
      AND e.id < a.id AND e.state IN ('pending', 'sending')
) AS earlier_open
FROM action a
WHERE a.id = @id;

-- name: ActionMarkSending :one
UPDATE action SET state = 'sending', attempts = attempts + 1, updated_at = clock_timestamp()
WHERE id = @id AND state IN ('pending', 'sending')
RETURNING attempts;

-- name: ActionNote :exec
-- A wait (rate limit, outage, expired authentication) leaves the state as
-- it is and says why.
UPDATE action SET error_detail = @error_detail, updated_at = clock_timestamp() WHERE id = @id;

-- name: ActionApplied :exec
UPDATE action SET state = 'applied', result_id = @result_id, result_version = @result_version,
    message = NULL, error_detail = NULL, conflict = NULL, applied_at = clock_timestamp(), updated_at = clock_timestamp()
WHERE id = @id;

-- name: ActionSettle :exec
-- conflict, failed or rejected, with the customer's message and the
-- internal detail.
UPDATE action SET state = @state, message = @message, error_detail = @error_detail,
    conflict = sqlc.narg(conflict), updated_at = clock_timestamp()
WHERE id = @id;

-- name: ActionRebase :exec
-- A later action on the same record was based on what the customer saw,
-- which included this one's change: once this one is applied, the later
-- one expects the version this one produced.
UPDATE action SET expected_version = @new_version, updated_at = clock_timestamp()
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND target = @target
  AND id > @id AND state = 'pending' AND expected_version = @old_version;

-- name: ActionRequeue :exec
-- Staff retry: back to pending, against the version given.
UPDATE action SET state = 'pending', expected_version = @expected_version, message = NULL,
    error_detail = NULL, updated_at = clock_timestamp()
WHERE id = @id;

-- name: ActionList :many
SELECT * FROM action
WHERE tenant_id = @tenant_id AND state = ANY (@states::text[]) AND id > @after_id
ORDER BY id
LIMIT @max_rows;

-- name: ActionListByUser :many
-- One user's actions in the given states, newest first (the portal's
-- status hub: changes in conflict or failed). Few actions end in those
-- states, so the state index finds them.
SELECT * FROM action
WHERE tenant_id = @tenant_id AND state = ANY (@states::text[]) AND user_id = @user_id
ORDER BY id DESC
LIMIT @max_rows;

-- name: ActionCountByState :many
SELECT state, count(*)::bigint AS n FROM action WHERE tenant_id = @tenant_id GROUP BY state ORDER BY state;

-- name: RecordForAction :one
-- The cached record an update acts on, locked against a concurrent
-- projection.
SELECT data, source_version, owner_account FROM record
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND source_id = @source_id
  AND deleted_at IS NULL AND NOT hidden
FOR UPDATE;

-- name: RecordInsertPending :exec
-- A pending create shows at once under a provisional id.
INSERT INTO record (tenant_id, connection, object, source_id, source_object, owner_account, owner_contact,
                    data, raw, source_modified, mapping_hash, pending_action_id)
VALUES (@tenant_id, @connection, @object, @source_id, @source_object, nullif(@owner_account::text, ''),
        nullif(@owner_contact::text, ''), @data, '{}', now(), @mapping_hash, @pending_action_id);

-- name: RecordSetPending :exec
UPDATE record SET data = @data, pending_action_id = @pending_action_id
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND source_id = @source_id;

-- name: RecordMarkPending :exec
UPDATE record SET pending_action_id = @pending_action_id
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND source_id = @source_id;

-- name: RecordDeleteProvisional :exec
DELETE FROM record
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND source_id = @source_id
  AND pending_action_id IS NOT NULL;

-- name: RecordClearPending :exec
UPDATE record SET pending_action_id = NULL WHERE tenant_id = @tenant_id AND pending_action_id = @pending_action_id;

-- name: RecordRestorePrior :exec
UPDATE record SET data = @data, pending_action_id = NULL
WHERE tenant_id = @tenant_id AND pending_action_id = @pending_action_id;

