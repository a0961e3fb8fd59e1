-- portico_api is the role API requests run as (SET LOCAL ROLE portico_api
-- inside each request's transaction). It owns nothing, so row-level
-- security applies to it, and it gets only the grants each table's
-- migration gives it: for example INSERT and SELECT, never UPDATE or
-- DELETE, on the audit log. Roles are cluster-wide; databases sharing a
-- server share it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'portico_api') THEN
        CREATE ROLE portico_api NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    -- Another database on this server created it concurrently.
    NULL;
END
$$;

-- The connecting role must be able to switch to it.
DO $$
BEGIN
    EXECUTE format('GRANT portico_api TO %I', current_user);
EXCEPTION WHEN duplicate_object OR invalid_grant_operation THEN
    NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO portico_api;
GRANT SELECT ON tenant TO portico_api;
