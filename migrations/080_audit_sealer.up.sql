-- The audit chain is sealed after commit instead of inside each writer's
-- transaction (internal/audit/doc.go, "Sealing"). Migration 050 linked
-- every row in a BEFORE INSERT trigger that held the tenant's chain head
-- locked until the writer committed, so every auditing transaction queued
-- behind the one before it (issue 11: 10 to 13 backends waiting on that
-- lock at 100 write-backs a second).
--
-- Now a writer inserts its event unsealed (seq, hash_version, prev_hash and
-- hash NULL), in its own transaction as before: the change and its audit
-- row still commit together (invariant 7). audit_seal, run by one process
-- at a time, gives the committed unsealed events of each tenant the next
-- seqs and their hashes, in id order of what it can see. An event whose
-- transaction commits after a later id was sealed is sealed in a later
-- pass with a later seq: the chain runs over seq, not id.

DROP TRIGGER audit_event_chain ON audit_event;
DROP FUNCTION audit_event_chain();

ALTER TABLE audit_event
    ALTER COLUMN seq DROP NOT NULL,
    ALTER COLUMN hash_version DROP NOT NULL,
    ALTER COLUMN prev_hash DROP NOT NULL,
    ALTER COLUMN hash DROP NOT NULL,
    -- When the row was inserted, for the age of the unsealed tail
    -- (occurred_at may be given by the writer). Not hashed. Rows from
    -- before this migration are all sealed and take its time.
    ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT now(),
    ADD CONSTRAINT audit_event_sealed_whole CHECK (num_nulls(seq, hash_version, prev_hash, hash) IN (0, 4));
ALTER TABLE audit_event ALTER COLUMN recorded_at SET DEFAULT clock_timestamp();

-- What the sealer looks for; empty whenever the sealer keeps up.
CREATE INDEX audit_event_unsealed ON audit_event (tenant_id, id) WHERE seq IS NULL;

-- The API role may supply the event and nothing else: not the chain
-- fields, not recorded_at.
REVOKE INSERT ON audit_event FROM portico_api;
GRANT INSERT (tenant_id, occurred_at, actor, actor_kind, account_id, ip, user_agent,
              action, object, object_id, before, after, request_id) ON audit_event TO portico_api;

-- audit_hash_v1 is the version 1 hash (doc.go) of an event whose seq and
-- prev_hash are set. Verify recomputes it in Go, written apart from this.
-- The fields are encoded in one loop rather than by audit_field: a
-- function call per field made hashing most of what sealing costs.
CREATE FUNCTION audit_hash_v1(e audit_event) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    v text;
    x bytea;
    b bytea := convert_to(E'portico-audit-v1\n', 'UTF8');
BEGIN
    FOREACH v IN ARRAY ARRAY[
        e.tenant_id::text, e.seq::text,
        to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        e.actor, e.actor_kind, e.account_id, encode(substring(inet_send(e.ip) FROM 5), 'hex'),
        e.user_agent, e.action, e.object, e.object_id, e.before::text, e.after::text, e.request_id
    ] LOOP
        IF v IS NULL THEN
            b := b || '\xffffffff'::bytea;
        ELSE
            x := convert_to(v, 'UTF8');
            b := b || int4send(octet_length(x)) || x;
        END IF;
    END LOOP;
    RETURN sha256(b || e.prev_hash);
END
$$;

-- audit_seal_tenant seals up to p_max committed unsealed events of one
-- tenant and returns how many. The chain head's row lock serialises
-- sealers of a tenant (never writers now), and each statement below takes
-- its snapshot after that lock is held, so a sealer that waited sees what
-- the one before it sealed. Call it in READ COMMITTED.
CREATE FUNCTION audit_seal_tenant(p_tenant bigint, p_max integer) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public
AS $$
DECLARE
    head audit_chain_head%ROWTYPE;
    e    audit_event%ROWTYPE;
    n    integer := 0;
BEGIN
    -- The append-only trigger lets chain fields be set only while this
    -- is on, so nothing but the sealer links events.
    PERFORM set_config('portico.audit_sealing', 'on', true);
    SELECT * INTO head FROM audit_chain_head WHERE tenant_id = p_tenant FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_chain_head (tenant_id, last_seq, last_hash)
        VALUES (p_tenant, 0, '\x0000000000000000000000000000000000000000000000000000000000000000')
        ON CONFLICT (tenant_id) DO NOTHING;
        SELECT * INTO STRICT head FROM audit_chain_head WHERE tenant_id = p_tenant FOR UPDATE;
    END IF;
    FOR e IN
        SELECT * FROM audit_event WHERE tenant_id = p_tenant AND seq IS NULL ORDER BY id LIMIT p_max
    LOOP
        e.seq := head.last_seq + 1;
        e.hash_version := 1;
        e.prev_hash := head.last_hash;
        e.hash := audit_hash_v1(e);
        UPDATE audit_event SET seq = e.seq, hash_version = e.hash_version, prev_hash = e.prev_hash, hash = e.hash
        WHERE id = e.id AND seq IS NULL;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'audit_seal: event % was sealed by someone else', e.id;
        END IF;
        head.last_seq := e.seq;
        head.last_hash := e.hash;
        n := n + 1;
    END LOOP;
    IF n > 0 THEN
        UPDATE audit_chain_head SET last_seq = head.last_seq, last_hash = head.last_hash WHERE tenant_id = p_tenant;
    END IF;
    PERFORM set_config('portico.audit_sealing', 'off', true);
    RETURN n;
END
$$;

-- audit_seal seals up to p_max events over every tenant and returns how
-- many, or NULL when another session is sealing (one sealer at a time
-- fleet-wide; the others skip rather than queue).
CREATE FUNCTION audit_seal(p_max integer) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public
AS $$
DECLARE
    t bigint;
    n bigint := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('portico.audit_seal', 0)) THEN
        RETURN NULL;
    END IF;
    FOR t IN SELECT DISTINCT tenant_id FROM audit_event WHERE seq IS NULL ORDER BY tenant_id LOOP
        EXIT WHEN n >= p_max;
        n := n + audit_seal_tenant(t, (p_max - n)::integer);
    END LOOP;
    RETURN n;
END
$$;
REVOKE ALL ON FUNCTION audit_seal_tenant(bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_seal(integer) FROM PUBLIC;

-- Append-only, as before, except for sealing: setting the chain fields of
-- an unsealed event, once, with every other column unchanged.
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    unsealed public.audit_event;
BEGIN
    IF TG_LEVEL = 'ROW' AND TG_OP = 'UPDATE' THEN
        IF OLD.seq IS NULL AND NEW.seq IS NOT NULL
           AND coalesce(current_setting('portico.audit_sealing', true), '') = 'on' THEN
            unsealed := NEW;
            unsealed.seq := NULL;
            unsealed.hash_version := NULL;
            unsealed.prev_hash := NULL;
            unsealed.hash := NULL;
            -- jsonb compares numbers by value (1.0 = 1.00); the hash
            -- covers the text, so compare that too.
            IF unsealed IS NOT DISTINCT FROM OLD
               AND NEW.before::text IS NOT DISTINCT FROM OLD.before::text
               AND NEW.after::text IS NOT DISTINCT FROM OLD.after::text THEN
                RETURN NEW;
            END IF;
        END IF;
    END IF;
    IF coalesce(current_setting('portico.audit_maintenance', true), '') <> 'on' THEN
        RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'SET LOCAL portico.audit_maintenance = ''on'' for deliberate maintenance';
    END IF;
    IF TG_LEVEL = 'STATEMENT' THEN
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

-- Writers append unsealed events: only the sealer sets the chain fields,
-- so no insert can claim a place in the chain the head does not know.
CREATE FUNCTION audit_event_insert_unsealed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
BEGIN
    IF (NEW.seq IS NOT NULL OR NEW.hash_version IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.hash IS NOT NULL)
       AND coalesce(current_setting('portico.audit_maintenance', true), '') <> 'on' THEN
        RAISE EXCEPTION 'audit_event: chain fields are set by the sealer only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_event_insert_unsealed BEFORE INSERT ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_insert_unsealed();
