-- Records owned through a parent record (a case comment belongs to whoever
-- owns its case; an invoice attachment to whoever owns the invoice).
ALTER TABLE record
    ADD COLUMN owner_parent_object text,
    ADD COLUMN owner_parent_id     text;

CREATE INDEX record_owner_parent_idx ON record (tenant_id, connection, owner_parent_object, owner_parent_id)
    WHERE owner_parent_id IS NOT NULL;
