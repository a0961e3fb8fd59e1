DROP TRIGGER IF EXISTS auth_user_cache_update ON auth_user;
DROP TRIGGER IF EXISTS auth_user_cache_delete ON auth_user;
DROP TRIGGER IF EXISTS auth_session_cache ON auth_session;
DROP TRIGGER IF EXISTS auth_web_session_cache ON auth_web_session;
DROP FUNCTION IF EXISTS auth_cache_notify();
