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

-- name: AuditSealLock :one
-- One sealer at a time fleet-wide, until the transaction ends; false
-- when another session seals (the same lock as audit_seal, migration 080).
SELECT pg_try_advisory_xact_lock(hashtextextended('portico.audit_seal', 0)) AS locked;

-- name: AuditUnsealedTenants :many
SELECT DISTINCT tenant_id FROM audit_event WHERE seq IS NULL ORDER BY tenant_id;

-- name: AuditChainHeadEnsure :exec
INSERT INTO audit_chain_head (tenant_id, last_seq, last_hash)
VALUES (@tenant_id, 0, '\x0000000000000000000000000000000000000000000000000000000000000000')
ON CONFLICT (tenant_id) DO NOTHING;

-- name: AuditChainHeadLock :one
-- The tenant's chain head, locked by its sealer until commit. The
-- statements after it take their snapshots once the lock is held, so a
-- sealer that waited sees what the one before it sealed.
SELECT last_seq, last_hash FROM audit_chain_head WHERE tenant_id = $1 FOR UPDATE;

-- name: AuditUnsealedPage :many
-- The tenant's oldest committed unsealed events, with what the hash
-- covers (jsonb as the text PostgreSQL prints, as AuditChainPage).
SELECT id, occurred_at, actor, actor_kind, account_id, ip, user_agent,
       action, object, object_id, before, after, request_id
FROM audit_event
WHERE tenant_id = @tenant_id AND seq IS NULL
ORDER BY id
LIMIT @max_rows;

-- name: AuditSealLink :one
-- Links the events (in order) with the hashes the sealer computed, after
-- the head's seq (migration 084); returns how many.
SELECT audit_seal_link(@tenant_id::bigint, @after_seq::bigint, @ids::bigint[], @hashes::bytea[])::integer AS sealed;

-- name: AuditUnsealed :one
-- The tenant's committed events that await sealing: how many, and how
-- long ago (at the transaction's start) the oldest was inserted.
SELECT count(*) AS events,
       coalesce(extract(epoch FROM now() - min(recorded_at)), 0)::float8 AS oldest_age_s
FROM audit_event
WHERE tenant_id = @tenant_id AND seq IS NULL;
