-- The tables every customer action writes (action, record, audit_event)
-- no longer check tenant_id against tenant on each insert. The check
-- took a KEY SHARE lock on the one tenant row from every concurrent
-- transaction (a multixact each time, WAL-logged), four times per action,
-- for a row that is never deleted: tenants are created and never removed,
-- and every writer takes its tenant from a resolved scope. The other
-- tables, written rarely, keep their foreign keys.
ALTER TABLE action DROP CONSTRAINT action_tenant_id_fkey;
ALTER TABLE record DROP CONSTRAINT record_tenant_id_fkey;
ALTER TABLE audit_event DROP CONSTRAINT audit_event_tenant_id_fkey;
