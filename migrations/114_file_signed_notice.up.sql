-- A signed document is news of its own (notify's file_signed): the sealed
-- PDF of a signature is stored as a file like an upload, and its origin
-- tells the notify trigger which event it is. Only the signing flow
-- stores a 'signed' file.
ALTER TABLE file ADD COLUMN origin text NOT NULL DEFAULT 'upload' CHECK (origin IN ('upload', 'signed'));

CREATE OR REPLACE FUNCTION notify_file_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notify_event (tenant_id, kind, connection, object, source_id, child_id, actor_user)
    VALUES (NEW.tenant_id, CASE NEW.origin WHEN 'signed' THEN 'file_signed' ELSE 'file_ready' END,
            NEW.connection, NEW.object, NEW.record_id, NEW.id::text,
            CASE WHEN NEW.uploaded_by ~ '^[0-9]{1,18}$' THEN NEW.uploaded_by::bigint END);
    RETURN NULL;
END
$$;
