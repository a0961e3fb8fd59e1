-- name: AuditInsert :one
-- Audit trail (internal/audit). The event is stored unsealed: the chain
-- fields (seq, hash_version, prev_hash, hash) are set after commit by
-- audit_seal (migration 080), never by the writer.
INSERT INTO audit_event (
    tenant_id, occurred_at, actor, actor_kind, account_id, ip, user_agent,
    action, object, object_id, before, after, request_id
) VALUES (
    @tenant_id, coalesce(sqlc.narg(occurred_at)::timestamptz, clock_timestamp()),
    @actor, @actor_kind, sqlc.narg(account_id), sqlc.narg(ip), sqlc.narg(user_agent),
    @action, sqlc.narg(object), sqlc.narg(object_id), sqlc.narg(before), sqlc.narg(after),
    sqlc.narg(request_id)
)
RETURNING id, occurred_at;

-- name: AuditAppend :exec
-- AuditInsert for a writer that needs nothing back, so that it can be
-- sent with other statements in one round trip.
INSERT INTO audit_event (
    tenant_id, occurred_at, actor, actor_kind, account_id, ip, user_agent,
    action, object, object_id, before, after, request_id
) VALUES (
    @tenant_id, coalesce(sqlc.narg(occurred_at)::timestamptz, clock_timestamp()),
    @actor, @actor_kind, sqlc.narg(account_id), sqlc.narg(ip), sqlc.narg(user_agent),
    @action, sqlc.narg(object), sqlc.narg(object_id), sqlc.narg(before), sqlc.narg(after),
    sqlc.narg(request_id)
);

-- name: AuditChainHeadGet :one
SELECT last_seq, last_hash FROM audit_chain_head WHERE tenant_id = $1;

-- name: AuditChainPage :many
-- A tenant's sealed chain in order. pgx returns jsonb as the exact text
-- PostgreSQL prints for it, which is what the hash covers.
SELECT id, seq::bigint AS seq, occurred_at, actor, actor_kind, account_id, ip, user_agent,
       action, object, object_id, before, after, request_id,
       hash_version, prev_hash, hash
FROM audit_event
WHERE tenant_id = @tenant_id AND seq > @after_seq::bigint
ORDER BY seq
LIMIT @max_rows;

-- name: AuditTenants :many
SELECT id, slug FROM tenant ORDER BY id;

-- name: AuditSeal :one
-- Seals up to max_rows committed events and returns how many; -1 when
-- another session is sealing (migration 080).
SELECT coalesce(audit_seal(@max_rows::integer), -1)::bigint AS sealed;

-- name: AuditUnsealed :one
-- The tenant's committed events that await sealing: how many, and how
-- long ago (at the transaction's start) the oldest was inserted.
SELECT count(*) AS events,
       coalesce(extract(epoch FROM now() - min(recorded_at)), 0)::float8 AS oldest_age_s
FROM audit_event
WHERE tenant_id = @tenant_id AND seq IS NULL;
