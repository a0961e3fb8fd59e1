-- A record's status history, for the case timeline: every change of the
-- mapped status the source confirmed. The cache holds only each record's
-- current state; the status column is written only from source data (a
-- customer action's pending projection changes `data`, never `status`),
-- so this trigger records what the system of record did, at the source's
-- modification time of the version that carried the new status. A
-- record's first status is not recorded: the timeline opens with it.
CREATE TABLE record_status_change (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint      NOT NULL,
    connection  text        NOT NULL,
    object      text        NOT NULL,
    source_id   text        NOT NULL,
    previous    text,
    status      text,
    at          timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, connection, object, source_id) REFERENCES record ON DELETE CASCADE
);
CREATE INDEX record_status_change_record_idx ON record_status_change (tenant_id, connection, object, source_id, at);

CREATE FUNCTION record_status_change_log() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO record_status_change (tenant_id, connection, object, source_id, previous, status, at)
    VALUES (NEW.tenant_id, NEW.connection, NEW.object, NEW.source_id, OLD.status, NEW.status,
            coalesce(NEW.source_modified, now()));
    RETURN NULL;
END
$$;

CREATE TRIGGER record_status_change_log AFTER UPDATE OF status ON record
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.deleted_at IS NULL)
    EXECUTE FUNCTION record_status_change_log();

-- API requests see the history of the records they see (record's own
-- row-level security applies inside the policy).
ALTER TABLE record_status_change ENABLE ROW LEVEL SECURITY;
CREATE POLICY record_status_change_visible ON record_status_change FOR SELECT TO portico_api
    USING (EXISTS (SELECT 1 FROM record r
                   WHERE r.tenant_id = record_status_change.tenant_id AND r.connection = record_status_change.connection
                     AND r.object = record_status_change.object AND r.source_id = record_status_change.source_id));
GRANT SELECT ON record_status_change TO portico_api;
