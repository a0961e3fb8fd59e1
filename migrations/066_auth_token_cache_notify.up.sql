-- API tokens join the in-memory auth cache (internal/auth/cache.go): a
-- revoked, re-scoped or deleted token is announced as k:<id>. Touching
-- last_used_at (once a minute per token) is not announced.
CREATE OR REPLACE FUNCTION auth_cache_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'auth_web_session' THEN
        PERFORM pg_notify('portico_auth', 'w:' || OLD.token);
    ELSIF TG_TABLE_NAME = 'auth_session' THEN
        PERFORM pg_notify('portico_auth', 's:' || OLD.id);
    ELSIF TG_TABLE_NAME = 'auth_api_token' THEN
        PERFORM pg_notify('portico_auth', 'k:' || OLD.id);
    ELSE
        PERFORM pg_notify('portico_auth', 'u:' || OLD.id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER auth_api_token_cache_delete AFTER DELETE ON auth_api_token
    FOR EACH ROW EXECUTE FUNCTION auth_cache_notify();
CREATE TRIGGER auth_api_token_cache_update AFTER UPDATE ON auth_api_token
    FOR EACH ROW
    WHEN ((OLD.user_id, OLD.token_hash, OLD.scopes, OLD.expires_at, OLD.revoked_at)
          IS DISTINCT FROM
          (NEW.user_id, NEW.token_hash, NEW.scopes, NEW.expires_at, NEW.revoked_at))
    EXECUTE FUNCTION auth_cache_notify();
