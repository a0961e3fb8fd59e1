-- name: RecordUpsertBatch :one
-- One page of mapped records in one statement. A row whose version and
-- mapping hash are unchanged (and which is not a tombstone) is left
-- alone, so overlapping pages cost no writes, unless force is set: the
-- source's record after a write-back replaces the pending projection
-- even when its version equals the cached one. waiting counts the stored
-- records whose parent was not there (or had no owner yet). The owner's
-- cross-reference and parent are read by correlated subqueries, a key
-- probe for the rows that need one: as joins, a page's plan on a
-- freshly filled table hashed every cross-reference and every record of
-- the connection, for pages that name neither.
WITH up AS (
INSERT INTO record AS r (
    tenant_id, connection, object, source_id, source_object,
    owner_account, owner_ref_key, owner_ref_value, owner_contact, owner_parent_object, owner_parent_id,
    hidden, status, data, raw, source_version, source_modified, synced_at, mapping_hash, deleted_at
)
SELECT @tenant_id::bigint, @connection::text, @object::text, u.source_id, @source_object::text,
       coalesce(nullif(u.owner_account, ''),
                (SELECT x.account_id FROM account_xref x
                 WHERE x.tenant_id = @tenant_id::bigint AND x.key = u.owner_ref_key AND x.value = u.owner_ref_value),
                (SELECT p.owner_account FROM record p
                 WHERE p.tenant_id = @tenant_id::bigint AND p.connection = @connection::text
                   AND p.object = nullif(u.owner_parent_object, '') AND p.source_id = nullif(u.owner_parent_id, ''))),
       nullif(u.owner_ref_key, ''), nullif(u.owner_ref_value, ''),
       coalesce(nullif(u.owner_contact, ''),
                (SELECT p.owner_contact FROM record p
                 WHERE p.tenant_id = @tenant_id::bigint AND p.connection = @connection::text
                   AND p.object = nullif(u.owner_parent_object, '') AND p.source_id = nullif(u.owner_parent_id, ''))),
       nullif(u.owner_parent_object, ''), nullif(u.owner_parent_id, ''),
       u.hidden, nullif(u.status, ''), u.data::jsonb, u.raw::jsonb, u.source_version, u.source_modified,
       now(), @mapping_hash::text, NULL
FROM ROWS FROM (unnest(@source_ids::text[]), unnest(@owner_accounts::text[]),
                unnest(@owner_ref_keys::text[]), unnest(@owner_ref_values::text[]),
                unnest(@owner_contacts::text[]), unnest(@owner_parent_objects::text[]),
                unnest(@owner_parent_ids::text[]), unnest(@hiddens::boolean[]), unnest(@statuses::text[]),
                unnest(@datas::text[]), unnest(@raws::text[]), unnest(@source_versions::text[]),
                unnest(@source_modifieds::timestamptz[]))
     AS u (source_id, owner_account, owner_ref_key, owner_ref_value, owner_contact, owner_parent_object,
           owner_parent_id, hidden, status, data, raw, source_version, source_modified)
-- An erased person's records stay out of the cache while the source still
-- holds them (internal/privacy, migration 101).
WHERE NOT EXISTS (SELECT 1 FROM privacy_suppressed_record s
                  WHERE s.tenant_id = @tenant_id::bigint AND s.connection = @connection::text
                    AND s.object = @object::text AND s.source_id = u.source_id)
ON CONFLICT (tenant_id, connection, object, source_id) DO UPDATE SET
    source_object   = excluded.source_object,
    owner_account   = excluded.owner_account,
    owner_ref_key   = excluded.owner_ref_key,
    owner_ref_value = excluded.owner_ref_value,
    owner_contact   = excluded.owner_contact,
    owner_parent_object = excluded.owner_parent_object,
    owner_parent_id = excluded.owner_parent_id,
    hidden          = excluded.hidden,
    status          = excluded.status,
    data            = excluded.data,
    raw             = excluded.raw,
    source_version  = excluded.source_version,
    source_modified = excluded.source_modified,
    synced_at       = excluded.synced_at,
    mapping_hash    = excluded.mapping_hash,
    deleted_at      = NULL
WHERE @force::boolean
   OR r.source_version IS DISTINCT FROM excluded.source_version
   OR r.mapping_hash <> excluded.mapping_hash
   OR r.deleted_at IS NOT NULL
RETURNING r.owner_account, r.owner_parent_id
)
SELECT count(*) AS changed,
       count(*) FILTER (WHERE owner_account IS NULL AND owner_parent_id IS NOT NULL) AS waiting
FROM up;

-- name: RecordTouch :exec
-- A targeted refresh that found the record unchanged still confirms it.
UPDATE record SET synced_at = now()
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND source_id = @source_id;

-- name: RecordTombstone :execrows
UPDATE record SET deleted_at = coalesce(sqlc.narg(deleted_at)::timestamptz, now())
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object
  AND source_id = ANY (@source_ids::text[]) AND deleted_at IS NULL;

-- name: RecordPurgeTombstones :execrows
DELETE FROM record WHERE deleted_at < @before;

-- name: RecordGet :one
SELECT r.*, c.synced_through, c.failing_since
FROM record r
LEFT JOIN sync_cursor c
       ON c.tenant_id = r.tenant_id AND c.connection = r.connection AND c.object = r.source_object
WHERE r.tenant_id = @tenant_id AND r.connection = @connection AND r.object = @object AND r.source_id = @source_id;

-- name: RecordVersions :many
-- Ids and versions of the live records of one source object, for
-- reconciliation.
SELECT source_id, source_version FROM record
WHERE tenant_id = @tenant_id AND connection = @connection AND source_object = @source_object AND deleted_at IS NULL;

-- name: RecordsByMappingHash :many
-- Live records mapped with another hash than the current one, for
-- re-mapping after a mapping change; keyset-paged by source id, so an
-- interrupted re-map resumes where it stopped.
SELECT source_id, raw FROM record
WHERE tenant_id = @tenant_id AND connection = @connection AND source_object = @source_object
  AND mapping_hash <> @current_hash AND deleted_at IS NULL AND source_id > @after_id
ORDER BY source_id
LIMIT @max_rows;

-- name: RecordCountByMappingHash :one
SELECT count(*) FROM record
WHERE tenant_id = @tenant_id AND connection = @connection AND source_object = @source_object
  AND mapping_hash <> @current_hash AND deleted_at IS NULL;

-- name: RecordRemapBatch :execrows
-- Rewrites only what the mapping derives. The sync's own columns (version,
-- synced_at, tombstone) stay: a re-map confirms nothing with the source.
UPDATE record r SET
    data = u.data::jsonb,
    owner_account = coalesce(nullif(u.owner_account, ''), x.account_id, p.owner_account),
    owner_ref_key = nullif(u.owner_ref_key, ''),
    owner_ref_value = nullif(u.owner_ref_value, ''),
    owner_contact = coalesce(nullif(u.owner_contact, ''), p.owner_contact),
    owner_parent_object = nullif(u.owner_parent_object, ''),
    owner_parent_id = nullif(u.owner_parent_id, ''),
    hidden = u.hidden,
    status = nullif(u.status, ''),
    mapping_hash = @mapping_hash::text
FROM ROWS FROM (unnest(@source_ids::text[]), unnest(@owner_accounts::text[]),
                unnest(@owner_ref_keys::text[]), unnest(@owner_ref_values::text[]),
                unnest(@owner_contacts::text[]), unnest(@owner_parent_objects::text[]),
                unnest(@owner_parent_ids::text[]), unnest(@hiddens::boolean[]), unnest(@statuses::text[]),
                unnest(@datas::text[]))
     AS u (source_id, owner_account, owner_ref_key, owner_ref_value, owner_contact, owner_parent_object,
           owner_parent_id, hidden, status, data)
LEFT JOIN account_xref x
       ON x.tenant_id = @tenant_id::bigint AND x.key = nullif(u.owner_ref_key, '') AND x.value = nullif(u.owner_ref_value, '')
LEFT JOIN record p
       ON p.tenant_id = @tenant_id::bigint AND p.connection = @connection::text
      AND p.object = nullif(u.owner_parent_object, '') AND p.source_id = nullif(u.owner_parent_id, '')
WHERE r.tenant_id = @tenant_id::bigint AND r.connection = @connection::text AND r.object = @object::text
  AND r.source_id = u.source_id;

-- name: RecordCount :one
-- without_owner: live records nobody but staff sees (no owner account).
-- owner_derivable: those of them whose owner is known now, through their
-- cross-reference or their parent; anything but 0 is a resolution fault.
SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live, count(*) FILTER (WHERE deleted_at IS NOT NULL) AS tombstoned,
       count(*) FILTER (WHERE deleted_at IS NULL AND owner_account IS NULL) AS without_owner,
       count(*) FILTER (WHERE deleted_at IS NULL AND owner_account IS NULL AND (
           EXISTS (SELECT 1 FROM account_xref x
                   WHERE x.tenant_id = r.tenant_id AND x.key = r.owner_ref_key AND x.value = r.owner_ref_value)
        OR EXISTS (SELECT 1 FROM record p
                   WHERE p.tenant_id = r.tenant_id AND p.connection = r.connection AND p.object = r.owner_parent_object
                     AND p.source_id = r.owner_parent_id AND p.owner_account IS NOT NULL))) AS owner_derivable
FROM record r WHERE r.tenant_id = @tenant_id AND r.connection = @connection AND r.source_object = @source_object;

-- name: AccountXrefUpsertBatch :many
-- Returns the cross-references it added or changed: only those can give
-- records an owner they do not have yet.
INSERT INTO account_xref (tenant_id, key, value, account_id)
SELECT @tenant_id::bigint, u.key, u.value, u.account_id
FROM (SELECT unnest(@keys::text[]) AS key, unnest(@ref_values::text[]) AS value, unnest(@account_ids::text[]) AS account_id) AS u
ON CONFLICT (tenant_id, key, value) DO UPDATE SET account_id = excluded.account_id
WHERE account_xref.account_id IS DISTINCT FROM excluded.account_id
RETURNING key, value;

-- name: AccountXrefUpsert :exec
INSERT INTO account_xref (tenant_id, key, value, account_id)
VALUES (@tenant_id, @key, @value, @account_id)
ON CONFLICT (tenant_id, key, value) DO UPDATE SET account_id = excluded.account_id;

-- name: RecordResolveOwners :many
-- Records whose owner reference names one of these cross-references (an
-- account that arrived after them, or moved): they take its account. The
-- updated records are returned, so their own children can follow.
UPDATE record r SET owner_account = x.account_id
FROM account_xref x,
     (SELECT unnest(@keys::text[]) AS key, unnest(@ref_values::text[]) AS value) AS page
WHERE x.tenant_id = @tenant_id AND x.key = page.key AND x.value = page.value
  AND r.tenant_id = x.tenant_id AND r.owner_ref_key = x.key AND r.owner_ref_value = x.value
  AND r.owner_account IS DISTINCT FROM x.account_id
RETURNING r.connection, r.object, r.source_id;

-- name: RecordResolveChildren :many
-- Children owned through one of these parents take the parent's owner:
-- they may have arrived first, or the parent may have moved. The updated
-- children are returned, so their own children can follow. The parent is
-- read by correlated subqueries, one primary key probe per child (see
-- RecordResolveWaiting); a child whose parent is missing compares NULL
-- and is left alone.
UPDATE record c SET (owner_account, owner_contact) = (
    SELECT p.owner_account, p.owner_contact FROM record p
    WHERE p.tenant_id = c.tenant_id AND p.connection = c.connection
      AND p.object = c.owner_parent_object AND p.source_id = c.owner_parent_id)
WHERE c.tenant_id = @tenant_id AND c.connection = @connection
  AND c.owner_parent_object = @parent_object AND c.owner_parent_id = ANY (@parent_ids::text[])
  AND (SELECT p.owner_account IS DISTINCT FROM c.owner_account OR p.owner_contact IS DISTINCT FROM c.owner_contact
       FROM record p
       WHERE p.tenant_id = c.tenant_id AND p.connection = c.connection
         AND p.object = c.owner_parent_object AND p.source_id = c.owner_parent_id)
RETURNING c.object, c.source_id;

-- name: RecordOwnerLock :exec
-- Owner resolution is serialised per tenant and source of ownership (the
-- cross-references, or one parent object): see store.LockDerived. Held
-- until the transaction ends.
SELECT pg_advisory_xact_lock(20260701, hashtext(@key::text));

-- name: RecordOwnerLockShared :exec
SELECT pg_advisory_xact_lock_shared(20260701, hashtext(@key::text));

-- name: RecordResolveWaiting :exec
-- Records of a page stored before their parent had an owner take it now
-- (under the parent object's owner lock: see store.UpsertRows). The
-- parent is read by correlated subqueries, so it is always one primary
-- key probe per record: as a join, the plan of a freshly filled table
-- (no statistics yet) read every record of the connection once per
-- record, for seconds, while holding the parent object's lock.
UPDATE record c SET (owner_account, owner_contact) = (
    SELECT p.owner_account, coalesce(c.owner_contact, p.owner_contact) FROM record p
    WHERE p.tenant_id = c.tenant_id AND p.connection = c.connection
      AND p.object = c.owner_parent_object AND p.source_id = c.owner_parent_id)
WHERE c.tenant_id = @tenant_id AND c.connection = @connection AND c.object = @object
  AND c.source_id = ANY (@source_ids::text[]) AND c.owner_account IS NULL
  AND (SELECT p.owner_account FROM record p
       WHERE p.tenant_id = c.tenant_id AND p.connection = c.connection
         AND p.object = c.owner_parent_object AND p.source_id = c.owner_parent_id) IS NOT NULL;

-- name: RecordContactsByEmail :many
-- At most two contacts: an email shared by several matches none.
SELECT owner_account::text AS account, source_id AS contact FROM record
WHERE tenant_id = $1 AND object = 'contact' AND deleted_at IS NULL AND NOT hidden
  AND owner_account IS NOT NULL AND lower(data->'fields'->>'email') = lower(sqlc.arg(email)::text) LIMIT 2;

-- name: RecordContactInAccount :one
SELECT EXISTS (SELECT 1 FROM record
WHERE tenant_id = $1 AND object = 'contact' AND source_id = sqlc.arg(contact_id) AND owner_account = sqlc.arg(account_id)::text
  AND deleted_at IS NULL AND NOT hidden);

-- name: RecordAccountDescendants :many
-- Walks the cached account records' parent_account_id downwards, the
-- account itself first. UNION (not UNION ALL) stops at a cycle.
WITH RECURSIVE tree(id) AS (
    SELECT sqlc.arg(account_id)::text
  UNION
    SELECT a.source_id FROM record a JOIN tree t ON a.data->'fields'->>'parent_account_id' = t.id
    WHERE a.tenant_id = sqlc.arg(tenant_id) AND a.object = 'account' AND a.deleted_at IS NULL
)
SELECT id::text FROM tree LIMIT sqlc.arg(max_rows);

-- name: RecordAnalyze :exec
-- Refreshes the planner's statistics of the cache after a large write.
ANALYZE record;
