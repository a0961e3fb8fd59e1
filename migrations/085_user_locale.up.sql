-- A portal user's language for the portal's pages (a BCP 47 tag the
-- portal has a catalog for, such as 'de'); '' follows the browser.
ALTER TABLE auth_user ADD COLUMN locale text NOT NULL DEFAULT ''
    CHECK (locale ~ '^([a-z]{2,3}(-[A-Za-z0-9]{2,8})*)?$');
GRANT UPDATE (locale) ON auth_user TO portico_api;

-- Cached sessions carry their user: a changed language must reach them.
DROP TRIGGER auth_user_cache_update ON auth_user;
CREATE TRIGGER auth_user_cache_update AFTER UPDATE ON auth_user
    FOR EACH ROW
    WHEN ((OLD.tenant_id, OLD.email, OLD.account_id, OLD.contact_id, OLD.roles, OLD.staff, OLD.see_child_accounts, OLD.status, OLD.locale)
          IS DISTINCT FROM
          (NEW.tenant_id, NEW.email, NEW.account_id, NEW.contact_id, NEW.roles, NEW.staff, NEW.see_child_accounts, NEW.status, NEW.locale))
    EXECUTE FUNCTION auth_cache_notify();
