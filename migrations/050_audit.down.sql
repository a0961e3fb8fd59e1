DROP TABLE audit_event;
DROP TABLE audit_chain_head;
DROP FUNCTION audit_event_append_only();
DROP FUNCTION audit_event_chain();
DROP FUNCTION audit_field(text);
