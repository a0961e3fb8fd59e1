-- A second wall under the queries' own tenant filters: as portico_api, a
-- request sees and writes only its tenant's users (and through the joins,
-- only their sessions and tokens) and throttle rows.
ALTER TABLE auth_user ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth_user_tenant ON auth_user FOR ALL TO portico_api
    USING (tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint)
    WITH CHECK (tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint);

ALTER TABLE auth_login_failure ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth_login_failure_tenant ON auth_login_failure FOR ALL TO portico_api
    USING (tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint)
    WITH CHECK (tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint);
