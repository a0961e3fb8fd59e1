-- The audit trail (DESIGN.md invariant 7): an append-only, per-tenant
-- hash chain. internal/audit/doc.go documents the hash encoding; the
-- trigger below is its writer and internal/audit's Verify its independent
-- reader.

-- One row per tenant: the head of its chain. Locking this row serialises
-- appends of one tenant, so concurrent writers can never fork the chain,
-- and it lets `portico audit verify` notice rows deleted from the end.
CREATE TABLE audit_chain_head (
    tenant_id bigint PRIMARY KEY REFERENCES tenant (id),
    last_seq  bigint NOT NULL,
    last_hash bytea  NOT NULL CHECK (octet_length(last_hash) = 32)
);

CREATE TABLE audit_event (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint      NOT NULL REFERENCES tenant (id),
    seq          bigint      NOT NULL, -- 1, 2, 3 ... per tenant, set by the trigger
    occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor        text        NOT NULL CHECK (actor <> ''),
    actor_kind   text        NOT NULL CHECK (actor_kind IN ('user', 'staff', 'token', 'system')),
    account_id   text,
    ip           inet CHECK (masklen(ip) = CASE family(ip) WHEN 4 THEN 32 ELSE 128 END), -- a host
    user_agent   text,
    action       text        NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    object       text,
    object_id    text,
    before       jsonb,
    after        jsonb,
    request_id   text,
    hash_version smallint    NOT NULL,
    prev_hash    bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash         bytea       NOT NULL CHECK (octet_length(hash) = 32),
    UNIQUE (tenant_id, seq)
);
CREATE INDEX audit_event_actor ON audit_event (actor, id);
CREATE INDEX audit_event_account ON audit_event (account_id, id) WHERE account_id IS NOT NULL;
CREATE INDEX audit_event_object ON audit_event (object, object_id, id) WHERE object IS NOT NULL;
CREATE INDEX audit_event_occurred ON audit_event (occurred_at);

-- audit_field is one field of the version 1 encoding: NULL is FF FF FF FF,
-- anything else its UTF-8 byte length as a big-endian int32, then the bytes.
-- PL/pgSQL rather than SQL: an SQL function with its argument used three
-- times is not inlined, and a non-inlined SQL function call costs several
-- times more. No SET clause for the same reason (pg_catalog is searched
-- first anyway).
CREATE FUNCTION audit_field(v text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    b bytea;
BEGIN
    IF v IS NULL THEN
        RETURN '\xffffffff'::bytea;
    END IF;
    b := convert_to(v, 'UTF8');
    RETURN int4send(octet_length(b)) || b;
END
$$;

-- audit_event_chain links each new row to its tenant's chain. It ignores
-- whatever seq, prev_hash and hash the writer supplied. SECURITY DEFINER:
-- portico_api may not touch audit_chain_head itself.
CREATE FUNCTION audit_event_chain() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
DECLARE
    head audit_chain_head%ROWTYPE;
BEGIN
    SELECT * INTO head FROM audit_chain_head WHERE tenant_id = NEW.tenant_id FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_chain_head (tenant_id, last_seq, last_hash)
        VALUES (NEW.tenant_id, 0, '\x0000000000000000000000000000000000000000000000000000000000000000')
        ON CONFLICT (tenant_id) DO NOTHING;
        SELECT * INTO STRICT head FROM audit_chain_head WHERE tenant_id = NEW.tenant_id FOR UPDATE;
    END IF;

    NEW.seq := head.last_seq + 1;
    NEW.hash_version := 1;
    NEW.prev_hash := head.last_hash;
    NEW.hash := sha256(
        convert_to(E'portico-audit-v1\n', 'UTF8')
        || audit_field(NEW.tenant_id::text)
        || audit_field(NEW.seq::text)
        || audit_field(to_char(NEW.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        || audit_field(NEW.actor)
        || audit_field(NEW.actor_kind)
        || audit_field(NEW.account_id)
        || audit_field(encode(substring(inet_send(NEW.ip) FROM 5), 'hex'))
        || audit_field(NEW.user_agent)
        || audit_field(NEW.action)
        || audit_field(NEW.object)
        || audit_field(NEW.object_id)
        || audit_field(NEW.before::text)
        || audit_field(NEW.after::text)
        || audit_field(NEW.request_id)
        || NEW.prev_hash);

    UPDATE audit_chain_head SET last_seq = NEW.seq, last_hash = NEW.hash WHERE tenant_id = NEW.tenant_id;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_event_chain BEFORE INSERT ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_chain();

-- The log is append-only for everyone, owner included, unless a session
-- declares maintenance with SET LOCAL portico.audit_maintenance = 'on'.
-- (The owner can still disable this trigger: verification is what
-- catches a DBA's edits.)
CREATE FUNCTION audit_event_append_only() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
BEGIN
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

CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();

-- API requests (portico_api) append and read their own tenant's events
-- and nothing else: no UPDATE or DELETE grant, and RLS on the tenant set
-- per transaction (SET LOCAL portico.tenant_id).
ALTER TABLE audit_event ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_event_insert ON audit_event FOR INSERT TO portico_api
    WITH CHECK (tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint);
CREATE POLICY audit_event_select ON audit_event FOR SELECT TO portico_api
    USING (tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint);
GRANT SELECT, INSERT ON audit_event TO portico_api;
GRANT USAGE ON SEQUENCE audit_event_id_seq TO portico_api;
REVOKE ALL ON audit_chain_head FROM portico_api;
