-- The tables every customer action writes twice (action, record) no
-- longer check tenant_id against tenant on each insert. The check took a
-- KEY SHARE lock on the one tenant row from every concurrent transaction
-- (a multixact each time, WAL-logged), for a row that is never deleted:
-- tenants are created and never removed, and every writer takes its
-- tenant from a resolved scope. audit_event keeps its foreign key: an
-- event of an unknown tenant is refused at once rather than left for the
-- sealer, whose chain head needs a real tenant.
ALTER TABLE action DROP CONSTRAINT action_tenant_id_fkey;
ALTER TABLE record DROP CONSTRAINT record_tenant_id_fkey;
