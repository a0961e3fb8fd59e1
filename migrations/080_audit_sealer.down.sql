-- No event may be appended between sealing the tail and requiring the
-- chain fields again.
LOCK TABLE audit_event IN SHARE ROW EXCLUSIVE MODE;
DROP TRIGGER audit_event_insert_unsealed ON audit_event;
DROP FUNCTION audit_event_insert_unsealed();
-- Back to linking rows at insert (migration 050): seal what is unsealed
-- first, so that every row has its chain fields again.
SELECT audit_seal_tenant(t.tenant_id, 2147483647)
FROM (SELECT DISTINCT tenant_id FROM audit_event WHERE seq IS NULL ORDER BY tenant_id) t;

DROP FUNCTION audit_seal(integer);
DROP FUNCTION audit_seal_tenant(bigint, integer);
DROP FUNCTION audit_hash_v1(audit_event);
DROP INDEX audit_event_unsealed;
REVOKE INSERT ON audit_event FROM portico_api;
GRANT INSERT ON audit_event TO portico_api;
ALTER TABLE audit_event
    DROP CONSTRAINT audit_event_sealed_whole,
    DROP COLUMN recorded_at,
    ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN hash_version SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL;

CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
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
