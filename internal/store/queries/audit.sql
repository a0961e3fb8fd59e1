-- name: AuditInsert :one
-- Audit trail (internal/audit). The chain fields (seq, prev_hash, hash)
-- are set by the audit_event_chain trigger, never by the writer.
INSERT INTO audit_event (
    tenant_id, occurred_at, actor, actor_kind, account_id, ip, user_agent,
    action, object, object_id, before, after, request_id
) VALUES (
    @tenant_id, coalesce(sqlc.narg(occurred_at)::timestamptz, clock_timestamp()),
    @actor, @actor_kind, sqlc.narg(account_id), sqlc.narg(ip), sqlc.narg(user_agent),
    @action, sqlc.narg(object), sqlc.narg(object_id), sqlc.narg(before), sqlc.narg(after),
    sqlc.narg(request_id)
)
RETURNING id, seq, occurred_at, hash;

-- name: AuditChainHead :one
SELECT last_seq, last_hash FROM audit_chain_head WHERE tenant_id = $1;

-- name: AuditChainPage :many
-- A tenant's chain in order. pgx returns jsonb as the exact text
-- PostgreSQL prints for it, which is what the hash covers.
SELECT id, seq, occurred_at, actor, actor_kind, account_id, ip, user_agent,
       action, object, object_id, before, after, request_id,
       hash_version, prev_hash, hash
FROM audit_event
WHERE tenant_id = @tenant_id AND seq > @after_seq
ORDER BY seq
LIMIT @max_rows;

-- name: AuditTenants :many
SELECT id, slug FROM tenant ORDER BY id;
