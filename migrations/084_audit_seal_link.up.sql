-- The sealer hashes in Go and links a batch with one statement
-- (internal/audit/seal.go). audit_seal_tenant (migration 080) hashed each
-- event in plpgsql and updated it with a statement of its own: about
-- 0.9 ms of database time per event, most of what sealing cost. The hash
-- encoding is unchanged (version 1, doc.go), so events sealed either way
-- verify alike; audit_seal_tenant and audit_hash_v1 stay as the SQL
-- reference the tests compare the Go hashes with, and for migration 080's
-- down step.

-- audit_seal_link gives the unsealed events p_ids of tenant p_tenant, in
-- that order, the seqs after p_after_seq, the hashes p_hashes (computed
-- by the caller over the same chain) and the prev_hash each links to, and
-- moves the chain head to the last of them. The caller holds the head
-- locked from reading it to this call (same transaction), so the check
-- that the head is still at p_after_seq only catches a caller that did
-- not. Any id that is not an unsealed event of the tenant refuses the
-- whole batch. Verify recomputes every hash, so a wrong one is found.
-- The planner settings keep the batch on the primary key: on a table
-- without statistics a generic plan could otherwise hash-join a scan of
-- the whole log, and keep doing so in that session.
CREATE FUNCTION audit_seal_link(p_tenant bigint, p_after_seq bigint, p_ids bigint[], p_hashes bytea[]) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public
    SET enable_seqscan = off
    SET enable_hashjoin = off
    SET enable_mergejoin = off
AS $$
DECLARE
    head audit_chain_head%ROWTYPE;
    n    integer;
BEGIN
    IF coalesce(cardinality(p_ids), 0) = 0 OR cardinality(p_ids) <> coalesce(cardinality(p_hashes), 0) THEN
        RAISE EXCEPTION 'audit_seal_link: % event ids and % hashes', coalesce(cardinality(p_ids), 0), coalesce(cardinality(p_hashes), 0);
    END IF;
    SELECT * INTO head FROM audit_chain_head WHERE tenant_id = p_tenant FOR UPDATE;
    IF NOT FOUND OR head.last_seq <> p_after_seq THEN
        RAISE EXCEPTION 'audit_seal_link: the chain head of tenant % is not at seq %', p_tenant, p_after_seq;
    END IF;
    -- The append-only trigger lets chain fields be set only while this
    -- is on (migration 080).
    PERFORM set_config('portico.audit_sealing', 'on', true);
    UPDATE audit_event e
    SET seq = p_after_seq + u.i,
        hash_version = 1,
        prev_hash = CASE WHEN u.i = 1 THEN head.last_hash ELSE p_hashes[u.i - 1] END,
        hash = u.h
    FROM unnest(p_ids, p_hashes) WITH ORDINALITY AS u(id, h, i)
    WHERE e.id = u.id AND e.tenant_id = p_tenant AND e.seq IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('portico.audit_sealing', 'off', true);
    IF n <> cardinality(p_ids) THEN
        RAISE EXCEPTION 'audit_seal_link: only % of the % events are unsealed events of tenant %', n, cardinality(p_ids), p_tenant;
    END IF;
    UPDATE audit_chain_head SET last_seq = p_after_seq + n, last_hash = p_hashes[n] WHERE tenant_id = p_tenant;
    RETURN n;
END
$$;
REVOKE ALL ON FUNCTION audit_seal_link(bigint, bigint, bigint[], bytea[]) FROM PUBLIC;

-- The insert check of migration 080 runs only for a row that carries
-- chain fields: every other insert skipped it anyway, after a plpgsql
-- call per event.
DROP TRIGGER audit_event_insert_unsealed ON audit_event;
CREATE TRIGGER audit_event_insert_unsealed BEFORE INSERT ON audit_event
    FOR EACH ROW
    WHEN (NEW.seq IS NOT NULL OR NEW.hash_version IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.hash IS NOT NULL)
    EXECUTE FUNCTION audit_event_insert_unsealed();
