-- The API keeps browser sessions and their users in memory
-- (internal/auth/cache.go). These triggers tell every process, at commit,
-- which cached row changed, on the channel portico_auth:
--   w:<store token>  a web session was written or deleted;
--   s:<id>           a login session ended (logout, logout everywhere);
--   u:<id>           a user's rights changed (status, roles, account...).
CREATE FUNCTION auth_cache_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'auth_web_session' THEN
        PERFORM pg_notify('portico_auth', 'w:' || OLD.token);
    ELSIF TG_TABLE_NAME = 'auth_session' THEN
        PERFORM pg_notify('portico_auth', 's:' || OLD.id);
    ELSE
        PERFORM pg_notify('portico_auth', 'u:' || OLD.id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER auth_web_session_cache AFTER UPDATE OR DELETE ON auth_web_session
    FOR EACH ROW EXECUTE FUNCTION auth_cache_notify();
CREATE TRIGGER auth_session_cache AFTER UPDATE OR DELETE ON auth_session
    FOR EACH ROW EXECUTE FUNCTION auth_cache_notify();
CREATE TRIGGER auth_user_cache_delete AFTER DELETE ON auth_user
    FOR EACH ROW EXECUTE FUNCTION auth_cache_notify();
-- Logins stamp last_login_at: that changes nothing a session needs.
CREATE TRIGGER auth_user_cache_update AFTER UPDATE ON auth_user
    FOR EACH ROW
    WHEN ((OLD.tenant_id, OLD.email, OLD.account_id, OLD.contact_id, OLD.roles, OLD.staff, OLD.see_child_accounts, OLD.status)
          IS DISTINCT FROM
          (NEW.tenant_id, NEW.email, NEW.account_id, NEW.contact_id, NEW.roles, NEW.staff, NEW.see_child_accounts, NEW.status))
    EXECUTE FUNCTION auth_cache_notify();
