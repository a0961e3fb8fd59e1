-- Which of a page of records have an action on its way to the source:
-- the few pending records only, whatever connection they come from.
CREATE INDEX record_pending_idx ON record (tenant_id, object, source_id) WHERE pending_action_id IS NOT NULL;
