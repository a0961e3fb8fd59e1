CREATE INDEX record_mapping_idx ON record (tenant_id, connection, object, mapping_hash);
