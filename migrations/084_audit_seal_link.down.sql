DROP TRIGGER audit_event_insert_unsealed ON audit_event;
CREATE TRIGGER audit_event_insert_unsealed BEFORE INSERT ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_insert_unsealed();
DROP FUNCTION audit_seal_link(bigint, bigint, bigint[], bytea[]);
