-- The sealer hashes in Go and links a batch with one call
-- (internal/audit/seal.go). audit_seal_tenant (migration 080) also hashed
-- each event in plpgsql, the larger part of its database time: sealing
-- now costs the database about 0.06 ms of CPU an event instead of 0.08,
-- measured alternately on one backend (the 0.9 ms an event first
-- reported was time under contention, not CPU), and the hashing runs in
-- the Portico process, which scales out. The hash encoding is unchanged
-- (version 1, doc.go), so events sealed either way verify alike;
-- audit_seal_tenant and audit_hash_v1 stay as the SQL reference the
-- tests compare the Go hashes with, and for migration 080's down step.

-- audit_seal_link gives the unsealed events p_ids of tenant p_tenant, in
-- that order, the seqs after p_after_seq, the hashes p_hashes (computed
-- by the caller over the same chain) and the prev_hash each links to, and
-- moves the chain head to the last of them. The caller holds the head
-- locked from reading it to this call (same transaction), so the check
-- that the head is still at p_after_seq only catches a caller that did
-- not. Any id that is not an unsealed event of the tenant refuses the
-- whole batch. Verify recomputes every hash, so a wrong one is found.
-- Each event is updated by its primary key, one statement each: as one
-- joined UPDATE over unnest(p_ids), a table without statistics got a
-- generic plan that rescanned the array for every unsealed event
-- (quadratic: 2.4 s for 1,000), and plpgsql keeps a plan for the session.
CREATE FUNCTION audit_seal_link(p_tenant bigint, p_after_seq bigint, p_ids bigint[], p_hashes bytea[]) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public
AS $$
DECLARE
    head audit_chain_head%ROWTYPE;
    n    integer := coalesce(cardinality(p_ids), 0);
    prev bytea;
BEGIN
    IF n = 0 OR n <> coalesce(cardinality(p_hashes), 0) THEN
        RAISE EXCEPTION 'audit_seal_link: % event ids and % hashes', n, coalesce(cardinality(p_hashes), 0);
    END IF;
    SELECT * INTO head FROM audit_chain_head WHERE tenant_id = p_tenant FOR UPDATE;
    IF NOT FOUND OR head.last_seq <> p_after_seq THEN
        RAISE EXCEPTION 'audit_seal_link: the chain head of tenant % is not at seq %', p_tenant, p_after_seq;
    END IF;
    -- The append-only trigger lets chain fields be set only while this
    -- is on (migration 080).
    PERFORM set_config('portico.audit_sealing', 'on', true);
    prev := head.last_hash;
    FOR i IN 1 .. n LOOP
        UPDATE audit_event SET seq = p_after_seq + i, hash_version = 1, prev_hash = prev, hash = p_hashes[i]
        WHERE id = p_ids[i] AND tenant_id = p_tenant AND seq IS NULL;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'audit_seal_link: event % is not an unsealed event of tenant %', p_ids[i], p_tenant;
        END IF;
        prev := p_hashes[i];
    END LOOP;
    PERFORM set_config('portico.audit_sealing', 'off', true);
    UPDATE audit_chain_head SET last_seq = p_after_seq + n, last_hash = prev WHERE tenant_id = p_tenant;
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
