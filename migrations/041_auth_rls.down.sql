DROP POLICY auth_login_failure_tenant ON auth_login_failure;
ALTER TABLE auth_login_failure DISABLE ROW LEVEL SECURITY;
DROP POLICY auth_user_tenant ON auth_user;
ALTER TABLE auth_user DISABLE ROW LEVEL SECURITY;
