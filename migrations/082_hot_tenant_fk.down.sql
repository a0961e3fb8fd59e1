ALTER TABLE action ADD CONSTRAINT action_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenant (id);
ALTER TABLE record ADD CONSTRAINT record_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenant (id);
