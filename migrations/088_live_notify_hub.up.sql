-- Live updates for the status hub and for what arrives under a record
-- (internal/web/live.go). Two more kinds of news on portico_live, still
-- ids only, never data:
--   h:<tenant>:<object>:<owner account>     a record of that object and
--                                           account arrived or changed
--                                           (the hub's blocks are per
--                                           object, visibility per account)
--   r:<tenant>:<parent object>:<parent id>  086's record payload, now also
--                                           for the parent of a visible
--                                           child that arrived or changed
--                                           (a staff comment on a case)
-- Inserts notify now too, but once per statement, not per row: a synced
-- page is one statement, and its rows make one notification per distinct
-- (object, account) and per distinct parent (PostgreSQL folds repeats
-- within a transaction besides). A record whose owner is resolved later
-- notifies then, as an update of owner_account.

-- live_notify sends one payload, or leaves out one PostgreSQL cannot carry
-- rather than failing the transaction that changed the record.
CREATE FUNCTION live_notify(payload text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF octet_length(payload) < 7900 THEN
        PERFORM pg_notify('portico_live', payload);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION live_notify_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'action' THEN
        PERFORM live_notify('a:' || NEW.tenant_id || ':' || NEW.id || ':' || NEW.user_id);
        RETURN NULL;
    END IF;
    PERFORM live_notify('r:' || NEW.tenant_id || ':' || NEW.object || ':' || NEW.source_id);
    IF OLD.hidden AND NEW.hidden THEN
        RETURN NULL; -- an internal record stays internal: nobody's page shows it
    END IF;
    IF NEW.owner_account IS NOT NULL THEN
        PERFORM live_notify('h:' || NEW.tenant_id || ':' || NEW.object || ':' || NEW.owner_account);
    END IF;
    IF OLD.owner_account IS DISTINCT FROM NEW.owner_account AND OLD.owner_account IS NOT NULL THEN
        -- Gone from the old account's hub.
        PERFORM live_notify('h:' || OLD.tenant_id || ':' || OLD.object || ':' || OLD.owner_account);
    END IF;
    IF NEW.owner_parent_id IS NOT NULL THEN
        PERFORM live_notify('r:' || NEW.tenant_id || ':' || NEW.owner_parent_object || ':' || NEW.owner_parent_id);
    END IF;
    RETURN NULL;
END
$$;

-- The update trigger also fires for an owner resolved late.
DROP TRIGGER record_live_notify ON record;
CREATE TRIGGER record_live_notify AFTER UPDATE ON record
    FOR EACH ROW WHEN (OLD.data IS DISTINCT FROM NEW.data
                       OR OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
                       OR OLD.hidden IS DISTINCT FROM NEW.hidden
                       OR OLD.pending_action_id IS DISTINCT FROM NEW.pending_action_id
                       OR OLD.owner_account IS DISTINCT FROM NEW.owner_account)
    EXECUTE FUNCTION live_notify_row();

-- Inserts, once per statement, from the statement's new rows.
CREATE FUNCTION live_notify_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM live_notify(n.payload) FROM (
        SELECT 'h:' || tenant_id || ':' || object || ':' || owner_account AS payload
        FROM live_added
        WHERE owner_account IS NOT NULL AND NOT hidden AND deleted_at IS NULL
        UNION
        SELECT 'r:' || tenant_id || ':' || owner_parent_object || ':' || owner_parent_id
        FROM live_added
        WHERE owner_parent_id IS NOT NULL AND NOT hidden AND deleted_at IS NULL
    ) n;
    RETURN NULL;
END
$$;

CREATE TRIGGER record_live_notify_insert AFTER INSERT ON record
    REFERENCING NEW TABLE AS live_added
    FOR EACH STATEMENT EXECUTE FUNCTION live_notify_insert();
