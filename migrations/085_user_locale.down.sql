DROP TRIGGER auth_user_cache_update ON auth_user;
CREATE TRIGGER auth_user_cache_update AFTER UPDATE ON auth_user
    FOR EACH ROW
    WHEN ((OLD.tenant_id, OLD.email, OLD.account_id, OLD.contact_id, OLD.roles, OLD.staff, OLD.see_child_accounts, OLD.status)
          IS DISTINCT FROM
          (NEW.tenant_id, NEW.email, NEW.account_id, NEW.contact_id, NEW.roles, NEW.staff, NEW.see_child_accounts, NEW.status))
    EXECUTE FUNCTION auth_cache_notify();
REVOKE UPDATE (locale) ON auth_user FROM portico_api;
ALTER TABLE auth_user DROP COLUMN locale;
