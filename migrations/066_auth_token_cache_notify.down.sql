DROP TRIGGER IF EXISTS auth_api_token_cache_update ON auth_api_token;
DROP TRIGGER IF EXISTS auth_api_token_cache_delete ON auth_api_token;
CREATE OR REPLACE FUNCTION auth_cache_notify() RETURNS trigger
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
