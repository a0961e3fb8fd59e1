CREATE OR REPLACE FUNCTION notify_file_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notify_event (tenant_id, kind, connection, object, source_id, child_id, actor_user)
    VALUES (NEW.tenant_id, 'file_ready', NEW.connection, NEW.object, NEW.record_id, NEW.id::text,
            CASE WHEN NEW.uploaded_by ~ '^[0-9]{1,18}$' THEN NEW.uploaded_by::bigint END);
    RETURN NULL;
END
$$;

ALTER TABLE file DROP COLUMN origin;
